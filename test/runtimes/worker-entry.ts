// Entry for Cloudflare Workers (workerd, through miniflare): the smoke suite runs inside one
// request and answers with its results. No nodejs_compat flag, so no inspect to check.
import { runSmoke } from "./smoke.ts";

interface Env {
  ROLES_URL: string;
  HANGING_URL: string;
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    return Response.json(await runSmoke({ rolesUrl: env.ROLES_URL, hangingUrl: env.HANGING_URL }));
  },
};
