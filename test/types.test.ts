// Type-level guarantees: these lines are checked by `tsc` (npm run typecheck) as well as run.
import { describe, expectTypeOf, it } from "vitest";
import type { CreateRoleParams, InheritedRole, Lease, OperationResult, PlanetScaleClient, Role } from "../src/index.ts";

declare const ps: PlanetScaleClient;
const branch = { organization: "acme", database: "app-db", branch: "main" };

describe("types generated from the spec", () => {
  it("rejects at compile time what the API would reject", () => {
    // The calls are never awaited or made: this block exists for the compiler.
    const neverCalled = () => {
      // @ts-expect-error: "pg_superuser" is not in the spec's inherited_roles enum
      void ps.createRole({ ...branch, inherited_roles: ["pg_superuser"] });
      // @ts-expect-error: ttl is an integer number of seconds, not a string
      void ps.createRole({ ...branch, ttl: "3600" });
      // @ts-expect-error: branch is a required path parameter
      void ps.createRole({ organization: "acme", database: "app-db" });
      // @ts-expect-error: require_where_on_delete is off, warn or on
      void ps.createRole({ ...branch, require_where_on_delete: "always" });
      // @ts-expect-error: list_roles' status is active, renewable, disabled or expired
      void ps.listRoles({ ...branch, status: "bogus" });
      // @ts-expect-error: getRole needs the role id
      void ps.getRole({ ...branch });
      // @ts-expect-error: graceMs is a number of milliseconds
      void ps.leaseRole({ ...branch, name: "api" }, { graceMs: "soon" });
      void ps.leaseRole(
        { ...branch, name: "api" },
        // @ts-expect-error: onChange's previous is undefined for the first role
        { onChange: (next, previous) => next.username + previous.username },
      );
    };
    expectTypeOf(neverCalled).toBeFunction();
  });

  it("derives params and results from the generated types", () => {
    expectTypeOf<CreateRoleParams["ttl"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<InheritedRole>().toExtend<string>();
    expectTypeOf<"pg_read_all_data">().toExtend<InheritedRole>();
    expectTypeOf<Role["password"]>().toEqualTypeOf<string>();
    expectTypeOf<Awaited<ReturnType<PlanetScaleClient["createRole"]>>>().toEqualTypeOf<Role>();
    expectTypeOf<Awaited<ReturnType<PlanetScaleClient["deleteRole"]>>>().toEqualTypeOf<void>();
    expectTypeOf<Awaited<ReturnType<PlanetScaleClient["leaseRole"]>>>().toEqualTypeOf<Lease>();
    expectTypeOf<ReturnType<Lease["current"]>>().toEqualTypeOf<Role>();
  });

  it("names Role only where the spec's answer has exactly its shape", () => {
    // The methods say `Role` so that hovers do; this fails to compile the day an answer differs.
    expectTypeOf<OperationResult<"get_role">>().toEqualTypeOf<Role>();
    expectTypeOf<OperationResult<"update_role">>().toEqualTypeOf<Role>();
    expectTypeOf<OperationResult<"renew_role">>().toEqualTypeOf<Role>();
    expectTypeOf<OperationResult<"reset_role">>().toEqualTypeOf<Role>();
    expectTypeOf<OperationResult<"get_default_role">>().toEqualTypeOf<Role>();
  });
});
