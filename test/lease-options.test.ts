// leaseRole's options: each bad one is an InvalidRequestError naming it, before anything is sent.
import { describe, expect, it } from "vitest";
import { AbortError, InvalidRequestError, type LeaseOptions } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { API_ROLE, leaseWorld } from "./support/lease.ts";

describe("bad lease options", () => {
  it.each([
    [{ renewBeforeMs: -1 }, "renewBeforeMs", "a number from 1 to"],
    [{ renewBeforeMs: 600_000 }, "renewBeforeMs", "less than the ttl (600000 ms)"],
    [{ renewBeforeMs: Number.NaN }, "renewBeforeMs", "a number from 1 to"],
    [{ graceMs: "soon" }, "graceMs", 'got "soon"'],
    [{ graceMs: -5 }, "graceMs", "a number from 0 to"],
    [{ rotateAfterMs: 0 }, "rotateAfterMs", "a number from 1 to"],
    [{ rotateAfterMs: 60_000 }, "rotateAfterMs", "longer than graceMs (60000 ms)"],
    [{ rotateAfterMs: 20_000, graceMs: 30_000 }, "rotateAfterMs", "longer than graceMs (30000 ms)"],
    [{ onChange: "reload" }, "onChange", "a function"],
    [{ onError: {} }, "onError", "a function"],
    [{ signal: { aborted: false } }, "signal", "an AbortSignal"],
    [{ renewBefore: 1000 }, "options.renewBefore", "the options are renewBeforeMs, rotateAfterMs, graceMs"],
  ])("refuses %o, naming %s, and creates nothing", async (options, field, words) => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease(options as LeaseOptions));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
    expect(error.message).toContain(`leaseRole: ${field} must be`);
    expect(error.message).toContain(words);
    expect(fake.requests).toEqual([]);
  });

  it("refuses options that are not an object", async () => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease("fast" as never));
    expect((error as InvalidRequestError).field).toBe("options");
    expect(fake.requests).toEqual([]);
  });

  it("needs a name, since each role is named <name>-<8 random characters>", async () => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease({}, { ...API_ROLE, name: " " }));
    expect((error as InvalidRequestError).field).toBe("name");
    expect(error.message).toContain("<name>-<8 random characters>");
    expect(fake.requests).toEqual([]);
  });

  it("refuses renewBeforeMs for a role without a ttl, which never expires", async () => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease({ renewBeforeMs: 1000 }, { ...API_ROLE, ttl: undefined }));
    expect((error as InvalidRequestError).field).toBe("renewBeforeMs");
    expect(error.message).toContain("without a ttl");
    expect(fake.requests).toEqual([]);
  });

  it("leaves a bad create_role field to create_role's own check, which also sends nothing", async () => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease({}, { ...API_ROLE, ttl: -1 }));
    expect((error as InvalidRequestError).field).toBe("ttl");
    expect(fake.requests).toEqual([]);
  });

  it("creates nothing when its signal has already aborted", async () => {
    const { fake, lease } = leaseWorld();
    const error = await failure(lease({ signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(AbortError);
    expect(fake.requests).toEqual([]);
  });

  it("rejects with an AbortError, and deletes the role, when its signal aborts while the first role is made", async () => {
    const { fake, lease } = leaseWorld();
    const controller = new AbortController();
    const error = await failure(lease({ signal: controller.signal, onChange: () => controller.abort() }));
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toContain("the role was deleted");
    expect(fake.roles()).toEqual([]);
  });

  it("rejects with onChange's error, and deletes the role, when onChange refuses the first role", async () => {
    const { fake, lease } = leaseWorld();
    const refusal = new Error("no pool for you");
    const error = await failure(
      lease({
        onChange: () => {
          throw refusal;
        },
      }),
    );
    expect(error).toBe(refusal);
    expect(fake.roles()).toEqual([]);
  });

  it("accepts what the issue's example passes, and a role without a ttl with rotation only", async () => {
    const { fake, lease } = leaseWorld();
    const renewing = await lease({ renewBeforeMs: 120_000, graceMs: 0, onChange: () => {}, onError: () => {} });
    const rotating = await lease({ rotateAfterMs: 3_600_000 }, { ...API_ROLE, ttl: undefined });
    expect(fake.roles()).toHaveLength(2);
    await renewing.close();
    await rotating.close();
    expect(fake.roles()).toEqual([]);
  });
});
