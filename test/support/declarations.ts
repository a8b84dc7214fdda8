// Reads a package's types the way an editor does, through the TypeScript language service: which
// fields of its public types keep their documentation, and what a hover or an error message shows.
import path from "node:path";
import ts from "typescript";

export interface Probe {
  service: ts.LanguageService;
  file: string;
  text: string;
}

/** A language service over one in-memory file; everything it imports is read from disk. */
export function createProbe(file: string, text: string, options: ts.CompilerOptions): Probe {
  const read = (name: string) => (name === file ? text : ts.sys.readFile(name));
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => {
      const content = read(name);
      return content === undefined ? undefined : ts.ScriptSnapshot.fromString(content);
    },
    getCurrentDirectory: () => path.dirname(file),
    getCompilationSettings: () => options,
    getDefaultLibFileName: ts.getDefaultLibFilePath,
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile: read,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return { service: ts.createLanguageService(host), file, text };
}

/** The compiler options of a tsconfig.json, as tsc would read them. */
export function tsconfigOptions(configPath: string): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  return { ...parsed.options, noEmit: true };
}

/** The hover of the first occurrence of `identifier` in the probe file. */
function hover(probe: Probe, identifier: string): ts.QuickInfo | undefined {
  const at = probe.text.search(new RegExp(`\\b${identifier}\\b`));
  if (at < 0) throw new Error(`${identifier} is not in the probe file`);
  return probe.service.getQuickInfoAtPosition(probe.file, at);
}

/** What a hover shows as its first line, such as `const role: Role`. */
export function hoverText(probe: Probe, identifier: string): string {
  return ts.displayPartsToString(hover(probe, identifier)?.displayParts);
}

/** What a hover shows below its first line: the documentation and the JSDoc tags. */
export function hoverDocs(probe: Probe, identifier: string): string {
  const info = hover(probe, identifier);
  const tags = (info?.tags ?? []).map((tag) => `@${tag.name} ${ts.displayPartsToString(tag.text)}`);
  return [ts.displayPartsToString(info?.documentation), ...tags].join("\n").trim();
}

export function errorMessages(probe: Probe): string[] {
  return probe.service
    .getSemanticDiagnostics(probe.file)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}

export interface FieldDocs {
  /** Every field, nested ones as `branch.id`. */
  fields: string[];
  /** The fields whose hover shows a description. */
  documented: string[];
}

/**
 * Per public type, its fields and which of them are documented: every exported type that matches
 * `isPublic` (generic ones aside), and the params and result of every method of `clientType`, as a
 * caller meets them (those without fields, such as void, left out). The probe file's first import is the package.
 */
export function documentedFields(
  probe: Probe,
  isPublic: (name: string) => boolean,
  clientType: string,
): Record<string, FieldDocs> {
  const program = probe.service.getProgram();
  const source = program?.getSourceFile(probe.file);
  if (!program || !source) throw new Error(`no program for ${probe.file}`);
  const checker = program.getTypeChecker();
  const entry = source.statements.find(ts.isImportDeclaration);
  const moduleSymbol = entry && checker.getSymbolAtLocation(entry.moduleSpecifier);
  if (!moduleSymbol) throw new Error(`${probe.file} does not resolve its import of the package`);
  const exported = new Map(
    checker.getExportsOfModule(moduleSymbol).map((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return [symbol.name, target] as const;
    }),
  );
  const result: Record<string, FieldDocs> = {};
  const add = (form: string, type: ts.Type) => {
    const docs = fieldsOf(checker, type);
    if (docs.fields.length > 0) result[form] = docs;
  };
  for (const [name, symbol] of exported) {
    if (isPublic(name) && !isGeneric(symbol)) add(name, checker.getDeclaredTypeOfSymbol(symbol));
  }
  const client = exported.get(clientType);
  if (!client) throw new Error(`the package does not export ${clientType}`);
  for (const method of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(client))) {
    const [signature] = checker.getTypeOfSymbol(method).getCallSignatures();
    const [params] = signature?.getParameters() ?? [];
    if (!signature || !params) continue;
    add(`${method.name}(params)`, checker.getTypeOfSymbol(params));
    add(`${method.name}() result`, unwrapResult(checker, signature.getReturnType()));
  }
  return result;
}

function isGeneric(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some(
    (declaration) =>
      (ts.isTypeAliasDeclaration(declaration) || ts.isInterfaceDeclaration(declaration)) &&
      (declaration.typeParameters?.length ?? 0) > 0,
  );
}

/** What a caller holds after awaiting the call, or for each item of an async iterable. */
function unwrapResult(checker: ts.TypeChecker, type: ts.Type): ts.Type {
  const wrapper = type.getSymbol()?.name;
  if (wrapper === "Promise" || wrapper === "AsyncIterable") {
    const [inner] = checker.getTypeArguments(type as ts.TypeReference);
    if (inner) return inner;
  }
  return type;
}

function fieldsOf(checker: ts.TypeChecker, type: ts.Type, prefix = "", into: FieldDocs = emptyDocs()): FieldDocs {
  for (const field of checker.getPropertiesOfType(type)) {
    const name = `${prefix}${field.name}`;
    into.fields.push(name);
    if (isDocumented(checker, field)) into.documented.push(name);
    const nested = objectInside(checker, checker.getTypeOfSymbol(field));
    if (nested && prefix.split(".").length < 3) fieldsOf(checker, nested, `${name}.`, into);
  }
  return into;
}

function emptyDocs(): FieldDocs {
  return { fields: [], documented: [] };
}

/** openapi-typescript writes `@description`, which TypeScript shows as a tag rather than as the comment. */
function isDocumented(checker: ts.TypeChecker, field: ts.Symbol): boolean {
  if (ts.displayPartsToString(field.getDocumentationComment(checker)).trim()) return true;
  return field
    .getJsDocTags(checker)
    .some((tag) => tag.name === "description" && ts.displayPartsToString(tag.text).trim() !== "");
}

/** The object a field holds, directly, through null, or as array items; undefined for anything else. */
function objectInside(checker: ts.TypeChecker, type: ts.Type): ts.Type | undefined {
  const present = checker.getNonNullableType(type);
  if (checker.isArrayType(present)) {
    const [item] = checker.getTypeArguments(present as ts.TypeReference);
    return item && objectInside(checker, item);
  }
  const isObject = (present.flags & ts.TypeFlags.Object) !== 0 && present.getCallSignatures().length === 0;
  return isObject ? present : undefined;
}
