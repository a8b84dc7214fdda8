import type { Role } from "../../src/index.ts";

export const BRANCH = { organization: "acme", database: "app-db", branch: "main" } as const;

/** A create_role answer as the real API gives it; typed by the generated Role, so it follows the spec. */
export function roleFixture(overrides: Partial<Role> = {}): Role {
  return {
    id: "role-1",
    name: "ci-reader",
    access_host_url: "aws.connect.psdb.cloud",
    private_access_host_url: "aws-private.connect.psdb.cloud",
    private_connection_service_name: "svc",
    username: "ci_reader.abc123",
    base_username: "ci_reader",
    password: "pscale_pw_S3cr3t-Only-Once",
    database_name: "app-db",
    created_at: "2026-11-29T10:00:00.000Z",
    updated_at: "2026-11-29T10:00:00.000Z",
    deleted_at: null,
    expires_at: "2026-11-29T11:00:00.000Z",
    dropped_at: null,
    disabled_at: null,
    drop_failed: "",
    ready: true,
    expired: false,
    default: false,
    ttl: 3600,
    inherited_roles: ["pg_read_all_data"],
    with_replication: false,
    branch: {
      id: "br-1",
      name: "main",
      created_at: "2026-01-01T00:00:00.000Z",
      updated_at: "2026-01-01T00:00:00.000Z",
      deleted_at: null,
    },
    actor: { id: "actor-1", display_name: "CI", avatar_url: "https://example.invalid/a.png" },
    query_safety_settings: { require_where_on_delete: "warn", require_where_on_update: "warn" },
    ...overrides,
  };
}

/** A list_roles page with every field the spec requires; `overrides` replace any of them. */
export function pageFixture(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "list",
    current_page: 1,
    per_page: 25,
    next_page: null,
    next_page_url: null,
    prev_page: null,
    prev_page_url: null,
    total_count: 0,
    total_pages: 1,
    data: [],
    ...overrides,
  };
}
