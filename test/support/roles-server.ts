// An in-memory stand-in for PlanetScale's Roles endpoints on one branch: create, list (paged, with
// q), get, delete (with successor), reset; plus the fault the recovery tests need (a create that
// commits and then loses its answer).
import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "../../src/clock.ts";
import type { Role } from "../../src/index.ts";
import { roleFixture } from "./fixtures.ts";
import { type RecordedRequest, startServer, type TestServer } from "./servers.ts";

export interface RolesServer extends TestServer {
  roles: Role[];
  deleted: { id: string; successor: string | null }[];
  /** The next create is committed, then its connection is dropped before any answer. */
  loseNextCreateAnswer(): void;
  /** The next create is committed and answered 200 with a body that is not JSON. */
  garbleNextCreateAnswer(): void;
  /** The next create is dropped before anything is committed: the connection closes, nothing is made. */
  dropNextCreate(): void;
  /** Runs before the next create is handled: another client's work, landing during the attempt. */
  beforeNextCreate(run: () => void): void;
  /** The next delete answers 500. */
  failNextDelete(): void;
  /** The next list answers 503. */
  failNextList(): void;
}

const ROLE_PATH =
  /^\/organizations\/[^/]+\/databases\/[^/]+\/branches\/[^/]+\/roles(?:\/([^/?]+))?(?:\/(reset))?(?:\?(.*))?$/;

/** `clock` stamps each role's created_at: a test steers it to make roles seconds apart without waiting. */
export async function startRolesServer(clock: Pick<Clock, "now"> = systemClock): Promise<RolesServer> {
  const roles: Role[] = [];
  const deleted: { id: string; successor: string | null }[] = [];
  const faults = {
    loseCreate: false,
    garbleCreate: false,
    dropCreate: false,
    failDelete: false,
    failList: false,
    beforeCreate: undefined as (() => void) | undefined,
  };
  const send = (res: import("node:http").ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const handler = (
    req: RecordedRequest,
    res: import("node:http").ServerResponse,
    socket: import("node:net").Socket,
  ) => {
    const match = ROLE_PATH.exec(req.url);
    if (!match) return send(res, 404, { code: "not_found", message: "no such route" });
    const [, id, action, query] = match;
    const search = new URLSearchParams(query ?? "");
    const found = id ? roles.find((role) => role.id === id) : undefined;
    if (req.method === "POST" && !id) {
      const before = faults.beforeCreate;
      faults.beforeCreate = undefined;
      before?.();
      if (faults.dropCreate) {
        faults.dropCreate = false;
        return socket.destroy();
      }
      const body = JSON.parse(req.body || "{}");
      const role = roleFixture({
        ...body,
        id: randomUUID(),
        password: `pw-${randomUUID()}`,
        created_at: new Date(clock.now()).toISOString(),
      });
      roles.push(role);
      if (faults.loseCreate) {
        faults.loseCreate = false;
        return socket.destroy();
      }
      if (faults.garbleCreate) {
        faults.garbleCreate = false;
        return res.writeHead(200, { "content-type": "application/json" }).end("<html>proxy error</html>");
      }
      return send(res, 200, role);
    }
    if (req.method === "GET" && !id && faults.failList) {
      faults.failList = false;
      return send(res, 503, { code: "unavailable", message: "try later" });
    }
    if (req.method === "GET" && !id) {
      const q = search.get("q");
      const matching = roles.filter((role) => !q || role.name.includes(q) || role.username.includes(q));
      const page = Number(search.get("page") ?? 1);
      const perPage = Number(search.get("per_page") ?? 25);
      const pages = Math.max(1, Math.ceil(matching.length / perPage));
      const data = matching.slice((page - 1) * perPage, page * perPage).map((role) => ({ ...role, password: "" }));
      return send(res, 200, {
        type: "list",
        current_page: page,
        per_page: perPage,
        next_page: page < pages ? page + 1 : null,
        next_page_url: null,
        prev_page: page > 1 ? page - 1 : null,
        prev_page_url: null,
        total_count: matching.length,
        total_pages: pages,
        data,
      });
    }
    if (!found) return send(res, 404, { code: "not_found", message: `role ${id} not found` });
    if (req.method === "GET") return send(res, 200, { ...found, password: "" });
    if (req.method === "POST" && action === "reset") {
      found.password = `pw-${randomUUID()}`;
      return send(res, 200, found);
    }
    if (req.method === "DELETE") {
      if (faults.failDelete) {
        faults.failDelete = false;
        return send(res, 500, { code: "internal", message: "could not drop role" });
      }
      roles.splice(roles.indexOf(found), 1);
      deleted.push({ id: found.id, successor: search.get("successor") });
      return send(res, 204);
    }
    return send(res, 405, { code: "method_not_allowed", message: req.method });
  };
  const server = await startServer(handler as never);
  return Object.assign(server, {
    roles,
    deleted,
    loseNextCreateAnswer: () => {
      faults.loseCreate = true;
    },
    garbleNextCreateAnswer: () => {
      faults.garbleCreate = true;
    },
    dropNextCreate: () => {
      faults.dropCreate = true;
    },
    beforeNextCreate: (run: () => void) => {
      faults.beforeCreate = run;
    },
    failNextList: () => {
      faults.failList = true;
    },
    failNextDelete: () => {
      faults.failDelete = true;
    },
  });
}
