// Which Roles operation a request is, read from the spec's operation table (generated), so a path
// the spec adds or renames is followed by a regenerate.
import { type OperationId, operations } from "../generated/operations.ts";

export interface Route {
  operation: OperationId;
  /** The path parameters, decoded. */
  params: Record<string, string>;
}

interface Template {
  operation: OperationId;
  method: string;
  pattern: RegExp;
  names: string[];
}

function compile(operation: OperationId): Template {
  const { method, path } = operations[operation];
  const names: string[] = [];
  const source = path
    .split("/")
    .map((segment) => {
      const name = /^\{(.+)\}$/.exec(segment)?.[1];
      if (name === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(name);
      return "([^/]+)";
    })
    .join("/");
  return { operation, method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), names };
}

// Fewer parameters first: /roles/default is get_default_role, not get_role with id "default".
const TEMPLATES = (Object.keys(operations) as OperationId[])
  .map(compile)
  .sort((a, b) => a.names.length - b.names.length);

export function matchRoute(method: string, apiPath: string): Route | undefined {
  for (const template of TEMPLATES) {
    if (template.method !== method) continue;
    const match = template.pattern.exec(apiPath);
    if (!match) continue;
    const params: Record<string, string> = {};
    try {
      template.names.forEach((name, index) => {
        params[name] = decodeURIComponent(match[index + 1] as string);
      });
    } catch {
      return undefined; // a malformed %-escape names nothing
    }
    return { operation: template.operation, params };
  }
  return undefined;
}
