// Where a key's counters and pauses live: in this process (embedded), or on Redis (REDIS_URL),
// shared by every server process using it. The counters are rate-limiter-flexible's; a pause is
// a key of its own, kept to the millisecond (the library's Redis windows are whole seconds).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

export interface LimitStoreOptions {
  /** Redis shared by every process (REDIS_URL); absent: this process only. */
  redisUrl?: string;
  /** Prefix of every key on Redis (several deployments, or tests, on one Redis). Default `batchlight:rl`. */
  keyPrefix?: string;
}

export interface LimitStore {
  readonly shared: boolean;
  /** A fixed-window counter of `points` per `durationSec`, named by `name` (a key and what it counts). */
  counter(name: string, points: number, durationSec: number): RateLimiterAbstract;
  /** Milliseconds left of the key's pause (0: not paused). */
  pausedFor(keyId: string): Promise<number>;
  /** Pauses the key for `ms` from now, unless it is paused longer already. */
  pause(keyId: string, ms: number): Promise<void>;
  /**
   * Says this process is calling with the key now, and how many processes are (itself included,
   * those heard from in the last 3 s): each spaces its calls at its share of the rate.
   */
  peers(keyId: string): Promise<number>;
  /**
   * A turn of the pace lane `key` (a run's delayMs across processes), named `token`: 0 when taken
   * now, else the milliseconds to wait before asking again. Only a shared store keeps lanes.
   */
  takeTurn(key: string, gapMs: number, token: string): Promise<number>;
  /** The request of turn `token` was handed to its connection: the next turn is `gapMs` from now. */
  turnSent(key: string, gapMs: number, token: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_LIMIT_KEY_PREFIX = 'batchlight:rl';
/** A process not heard from for this long no longer counts as calling with a key. */
const PEER_TTL_MS = 3000;

// Sets the pause's end (epoch ms) unless a later one is set; expires with it.
const PAUSE_SCRIPT = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

// A pace lane on Redis: KEYS[1] the earliest next turn in Redis's own clock (microseconds; TIME,
// so the processes' clocks do not matter), KEYS[2] the turn whose request is not yet handed to its
// connection. A turn is given only once the last one's request is written and the gap has passed
// since, so a process descheduled between its turn and its write cannot have the next process's
// request overtake its own on the wire. A turn's request not written within HOLD_MS (it failed
// before its write) no longer holds the lane. Own scripts: rate-limiter-flexible counts per
// window, it does not space.
const HOLD_MS = 250;
const NOW_US = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0') local gap = tonumber(ARGV[1]) * 1000
local keep = tonumber(ARGV[1]) + 60000`;
const TAKE_TURN_SCRIPT = `local held = redis.call('PTTL', KEYS[2])
if held > 0 then return math.min(held, 2) end
${NOW_US}
if now < nxt then return math.ceil((nxt - now) / 1000) end
redis.call('SET', KEYS[1], string.format('%d', now + gap), 'PX', keep)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ${HOLD_MS})
return 0`;
const TURN_SENT_SCRIPT = `if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
${NOW_US}
if now + gap > nxt then redis.call('SET', KEYS[1], string.format('%d', now + gap), 'PX', keep) end
return 1`;

export function createLimitStore(options: LimitStoreOptions = {}): LimitStore {
  const prefix = options.keyPrefix ?? DEFAULT_LIMIT_KEY_PREFIX;
  return options.redisUrl ? redisStore(options.redisUrl, prefix) : memoryStore(prefix);
}

function memoryStore(prefix: string): LimitStore {
  const pauses = new Map<string, number>();
  return {
    shared: false,
    counter: (name, points, duration) => new RateLimiterMemory({ keyPrefix: `${prefix}:${name}`, points, duration }),
    async pausedFor(keyId) {
      const until = pauses.get(keyId) ?? 0;
      const left = until - Date.now();
      if (left <= 0) pauses.delete(keyId);
      return Math.max(0, left);
    },
    async pause(keyId, ms) {
      const until = Date.now() + ms;
      if (until > (pauses.get(keyId) ?? 0)) pauses.set(keyId, until);
    },
    async peers() {
      return 1;
    },
    // This process's Pacer keeps its lanes itself.
    async takeTurn() {
      return 0;
    },
    async turnSent() {},
    async close() {},
  };
}

function redisStore(url: string, prefix: string): LimitStore {
  // A limit must not hang a call: a command fails after one reconnection attempt, and the call
  // then goes out as if unlimited (the provider's 429s are still honoured by the retries).
  // ioredis is loaded only with REDIS_URL: without it the server and each LLM worker thread would
  // carry it for nothing (about 20 MB of RSS at import, measured).
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const redis: Redis = new RedisClient(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => {
    /* reported through the failed commands */
  });
  const pauseKey = (keyId: string) => `${prefix}:pause:${keyId}`;
  const self = randomUUID();
  return {
    shared: true,
    counter: (name, points, duration) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:${name}`, points, duration }),
    async pausedFor(keyId) {
      const until = Number((await redis.get(pauseKey(keyId))) ?? 0);
      return Math.max(0, until - Date.now());
    },
    async pause(keyId, ms) {
      const until = Date.now() + ms;
      await redis.eval(PAUSE_SCRIPT, 1, pauseKey(keyId), String(until), String(Math.max(1, Math.ceil(ms))));
    },
    async peers(keyId) {
      const key = `${prefix}:peers:${keyId}`;
      const now = Date.now();
      const [, , count] = (await redis
        .multi()
        .zadd(key, now, self)
        .zremrangebyscore(key, '-inf', now - PEER_TTL_MS)
        .zcard(key)
        .pexpire(key, PEER_TTL_MS * 2)
        .exec()) as Array<[Error | null, unknown]>;
      return Math.max(1, Number(count?.[1] ?? 1));
    },
    async takeTurn(key, gapMs, token) {
      const keys = [`${prefix}:pace:${key}`, `${prefix}:pace-held:${key}`];
      return Number(await redis.eval(TAKE_TURN_SCRIPT, 2, ...keys, String(gapMs), token));
    },
    async turnSent(key, gapMs, token) {
      const keys = [`${prefix}:pace:${key}`, `${prefix}:pace-held:${key}`];
      await redis.eval(TURN_SENT_SCRIPT, 2, ...keys, String(gapMs), token);
    },
    async close() {
      redis.disconnect();
    },
  };
}
