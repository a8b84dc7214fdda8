// Kept by hand beside package.json's version (a test checks they agree): importing package.json
// would put the whole manifest into every bundle.
export const VERSION = "0.1.0";
