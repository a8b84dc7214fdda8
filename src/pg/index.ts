// planetscale-roles/pg: a node-postgres pool that follows a lease, so that a service's connections
// survive the lease's rotations. Its driver, pg, is an optional peer dependency that only this entry loads.
export { createPool, type LeasePoolConfig, type PoolLease } from "./pool.ts";
