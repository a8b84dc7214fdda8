// planetscale-roles/redis: one rate limit for a fleet of processes, kept in a Redis they share.
// Its Redis client, ioredis, is an optional peer dependency that only this entry loads.
export type { RateLimiter } from "../gate.ts";
export { DEFAULT_KEY } from "./identity.ts";
export {
  createRedisRateLimiter,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
} from "./limiter.ts";
