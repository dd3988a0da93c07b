// The server's settings, from the environment: every one of them here, with its default, its
// rule and what is said when it is broken (README, "Configuration"; SECURITY.md).
import { networkInterfaces } from 'node:os';
import { databaseEnv, parseDbUrl } from '@batchlight/db';
import type { CallPolicySpec, LimitStoreOptions, LlmLimits } from '@batchlight/llm';
import { DEFAULT_LLM_LIMITS, isDeniedCredentialEnv, parseHostEntry } from '@batchlight/llm';
import { z } from 'zod';

export interface Limits {
  /** Request body (HTTP) and WebSocket message, bytes. */
  bodyBytes: number;
  runItems: number;
  promptsPerSet: number;
  simOutputTokens: number;
  simLatencyMs: number;
  traceOutputChars: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  databaseUrl: string;
  token: string | undefined;
  secretKey: string | undefined;
  openaiApiKey: boolean;
  hfToken: boolean;
  /** The built monitor to serve at / (absent in tests that do not need it). */
  monitorDir: string | undefined;
  seed: boolean;
  /** Provider calls on a worker thread (default), or on the main thread with BATCHLIGHT_LLM_WORKER=0. */
  llmWorker: boolean;
  /** Browser origins allowed besides the loopback ones for the port (BATCHLIGHT_ALLOWED_ORIGINS). */
  allowedOrigins: string[];
  /** Key variables and provider hosts models may use. */
  policy: CallPolicySpec;
  limits: Limits;
  /** On SIGTERM/SIGINT, how long calls in flight may take to finish before they are cut off. */
  shutdownGraceMs: number;
  /** Where provider keys' limits are counted: this process, or Redis (REDIS_URL) shared by every process on it. */
  rateLimits: LimitStoreOptions;
  /** What this process does: `all` (API, monitor and runs), `api` (no call), `worker` (runs; health only). */
  role: ServerRole;
  /** Leases on runs, for several processes on one database (README, "Running several processes"). */
  lease: { leaseMs: number; heartbeatMs: number };
  /**
   * The distributed executor (REDIS_URL with PostgreSQL): runs are split into shards on a BullMQ
   * queue on Redis, executed by every process of role `all` or `worker`. Absent: embedded.
   */
  distributed: DistributedConfig | undefined;
}

export interface DistributedConfig {
  redisUrl: string;
  /** BATCHLIGHT_QUEUE_PREFIX: the queue's and the call slots' keys on Redis (one per deployment). */
  prefix: string;
  /** BATCHLIGHT_SHARD_SIZE: pending items per shard. */
  shardSize: number;
  /** BATCHLIGHT_SHARD_LOCK_MS: a worker that stops renewing a shard's lock (died) loses it after this. */
  lockDurationMs: number;
  /** BATCHLIGHT_STALLED_INTERVAL_MS: how often workers look for shards whose lock ran out. */
  stalledIntervalMs: number;
  /** BATCHLIGHT_WORKER_SHARDS: shards one process executes at once. */
  workerShards: number;
}

export const SERVER_ROLES = ['all', 'api', 'worker'] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1|\[::1\])$/;
const MiB = 1024 * 1024;

/** A setting the server cannot start with: `setting` names the variable, the message says why. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** An unset or empty variable is the default. */
const unset = (v: unknown) => (v === '' ? undefined : v);
const whole = (min: number, max: number, dflt: number) =>
  z.preprocess(
    unset,
    z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(min, `must be between ${min} and ${max}`)
      .max(max, `must be between ${min} and ${max}`)
      .default(dflt),
  );
const flag = (dflt: '0' | '1') =>
  z.preprocess(unset, z.enum(['0', '1'], { error: 'must be 0 or 1' }).default(dflt)).transform((v) => v === '1');
/** A comma-separated list, each entry checked by `check` (a problem, or null). */
const list = (check: (entry: string) => string | null) =>
  z.preprocess(unset, z.string().default('')).transform((s, ctx) => {
    const entries = s
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    for (const e of entries) {
      const problem = check(e);
      if (problem) ctx.addIssue({ code: 'custom', message: `"${e}" ${problem}` });
    }
    return entries;
  });

function originProblem(entry: string): string | null {
  try {
    const u = new URL(entry);
    const web = u.protocol === 'http:' || u.protocol === 'https:';
    if (web && u.origin === entry.replace(/\/$/, '').toLowerCase()) return null;
  } catch {
    /* said below */
  }
  return 'is not an origin like https://batchlight.example.com (scheme, host and port only)';
}

const schema = z.object({
  HOST: z.preprocess(unset, z.string().default('127.0.0.1')),
  PORT: whole(0, 65535, 4700),
  // The database package's own setting: its rule and messages, shared with `pnpm db:*` and the CLI.
  ...databaseEnv.shape,
  BATCHLIGHT_TOKEN: z.preprocess(
    unset,
    z
      .string()
      .min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 24`)')
      .regex(/^\S+$/, 'must not contain whitespace')
      .optional(),
  ),
  BATCHLIGHT_SECRET_KEY: z.preprocess(unset, z.string().optional()),
  OPENAI_API_KEY: z.preprocess(unset, z.string().optional()),
  HF_TOKEN: z.preprocess(unset, z.string().optional()),
  BATCHLIGHT_SEED: flag('1'),
  BATCHLIGHT_LLM_WORKER: flag('1'),
  BATCHLIGHT_ALLOWED_ORIGINS: list(originProblem),
  BATCHLIGHT_CREDENTIAL_ENVS: list((name) =>
    !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
      ? 'is not an environment variable name'
      : isDeniedCredentialEnv(name)
        ? "is one of the server's own settings (or the process's environment) and can never be a model's key"
        : null,
  ),
  BATCHLIGHT_PROVIDER_HOSTS: list((entry) => (parseHostEntry(entry) ? null : 'is not a host or host:port')),
  BATCHLIGHT_MAX_BODY_BYTES: whole(1024, 2 ** 31 - 1, 16 * MiB),
  BATCHLIGHT_MAX_RUN_ITEMS: whole(1, 100_000_000, 1_000_000),
  BATCHLIGHT_MAX_PROMPTS_PER_SET: whole(1, 10_000_000, 200_000),
  BATCHLIGHT_SIM_MAX_OUTPUT_TOKENS: whole(1, 10_000_000, DEFAULT_LLM_LIMITS.simulation.outputTokens),
  BATCHLIGHT_SIM_MAX_LATENCY_MS: whole(0, 86_400_000, DEFAULT_LLM_LIMITS.simulation.latencyMs),
  BATCHLIGHT_MAX_TRACE_OUTPUT_CHARS: whole(1000, 100_000_000, DEFAULT_LLM_LIMITS.outputChars),
  BATCHLIGHT_SHUTDOWN_GRACE_MS: whole(0, 3_600_000, 30_000),
  REDIS_URL: z.preprocess(
    unset,
    z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  ),
  BATCHLIGHT_RATE_LIMIT_PREFIX: z.preprocess(
    unset,
    z
      .string()
      .regex(/^[\x21-\x7e]{1,100}$/, 'must be 1 to 100 printable characters, no spaces')
      .default('batchlight:rl'),
  ),
  BATCHLIGHT_ROLE: z.preprocess(
    unset,
    z.enum(SERVER_ROLES, { error: `must be one of ${SERVER_ROLES.join(', ')}` }).default('all'),
  ),
  BATCHLIGHT_LEASE_MS: whole(1_000, 3_600_000, 15_000),
  BATCHLIGHT_QUEUE_PREFIX: z.preprocess(
    unset,
    z
      .string()
      .regex(/^[\x21-\x7e]{1,100}$/, 'must be 1 to 100 printable characters, no spaces')
      .default('batchlight:q'),
  ),
  BATCHLIGHT_SHARD_SIZE: whole(1, 1_000_000, 1000),
  BATCHLIGHT_SHARD_LOCK_MS: whole(1_000, 3_600_000, 30_000),
  BATCHLIGHT_STALLED_INTERVAL_MS: whole(500, 3_600_000, 15_000),
  BATCHLIGHT_WORKER_SHARDS: whole(1, 256, 4),
  BATCHLIGHT_HEARTBEAT_MS: whole(100, 600_000, 1_000),
});

/** The `Host` header values the server answers to: the loopback names, and `host` itself, on `port`. */
export function ownHosts(host: string, port: number): string[] {
  const names = ['localhost', '127.0.0.1', '[::1]'];
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
  if (wildcard) {
    // Bound to every interface: each of this machine's addresses (an IP is not a name a
    // rebinding page can use: its pages would be on the IP's own origin).
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) names.push(a.family === 'IPv6' ? `[${a.address.split('%')[0]}]` : a.address);
    }
  } else if (!isLoopback(host)) names.push(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  return [...new Set(names.map((n) => `${n.toLowerCase()}:${port}`))];
}

export function loadConfig(env: NodeJS.ProcessEnv, monitorDir?: string): ServerConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  const e = parsed.data;
  if (!isLoopback(e.HOST) && !e.BATCHLIGHT_TOKEN) {
    throw new ConfigError(
      'HOST',
      `refusing to listen on ${e.HOST} without BATCHLIGHT_TOKEN: anyone who can reach it could run models ` +
        'on your keys. Set BATCHLIGHT_TOKEN, or bind HOST=127.0.0.1.',
    );
  }
  if (e.BATCHLIGHT_HEARTBEAT_MS * 3 > e.BATCHLIGHT_LEASE_MS) {
    throw new ConfigError(
      'BATCHLIGHT_HEARTBEAT_MS',
      `must be at most a third of BATCHLIGHT_LEASE_MS (${e.BATCHLIGHT_LEASE_MS}), so a late heartbeat or two ` +
        'does not lose a live process its runs',
    );
  }
  if (e.REDIS_URL && parseDbUrl(e.DATABASE_URL).provider === 'sqlite') {
    throw new ConfigError(
      'REDIS_URL',
      'runs execute on several processes through Redis only with a PostgreSQL DATABASE_URL (postgresql://…); ' +
        'a SQLite file belongs to one process: unset REDIS_URL, or use PostgreSQL',
    );
  }
  if (e.BATCHLIGHT_STALLED_INTERVAL_MS > e.BATCHLIGHT_SHARD_LOCK_MS) {
    throw new ConfigError(
      'BATCHLIGHT_STALLED_INTERVAL_MS',
      `must be at most BATCHLIGHT_SHARD_LOCK_MS (${e.BATCHLIGHT_SHARD_LOCK_MS}): a dead worker's shards ` +
        'are looked for at this interval once their lock has run out',
    );
  }
  const policy: CallPolicySpec = {
    credentialEnvs: e.BATCHLIGHT_CREDENTIAL_ENVS,
    providerHosts: e.BATCHLIGHT_PROVIDER_HOSTS.length ? e.BATCHLIGHT_PROVIDER_HOSTS : null,
  };
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    token: e.BATCHLIGHT_TOKEN,
    secretKey: e.BATCHLIGHT_SECRET_KEY,
    openaiApiKey: !!e.OPENAI_API_KEY,
    hfToken: !!e.HF_TOKEN,
    monitorDir,
    seed: e.BATCHLIGHT_SEED,
    llmWorker: e.BATCHLIGHT_LLM_WORKER,
    shutdownGraceMs: e.BATCHLIGHT_SHUTDOWN_GRACE_MS,
    role: e.BATCHLIGHT_ROLE,
    lease: { leaseMs: e.BATCHLIGHT_LEASE_MS, heartbeatMs: e.BATCHLIGHT_HEARTBEAT_MS },
    allowedOrigins: e.BATCHLIGHT_ALLOWED_ORIGINS.map((o) => new URL(o).origin),
    policy,
    rateLimits: { redisUrl: e.REDIS_URL, keyPrefix: e.BATCHLIGHT_RATE_LIMIT_PREFIX },
    distributed: e.REDIS_URL
      ? {
          redisUrl: e.REDIS_URL,
          prefix: e.BATCHLIGHT_QUEUE_PREFIX,
          shardSize: e.BATCHLIGHT_SHARD_SIZE,
          lockDurationMs: e.BATCHLIGHT_SHARD_LOCK_MS,
          stalledIntervalMs: e.BATCHLIGHT_STALLED_INTERVAL_MS,
          workerShards: e.BATCHLIGHT_WORKER_SHARDS,
        }
      : undefined,
    limits: {
      bodyBytes: e.BATCHLIGHT_MAX_BODY_BYTES,
      runItems: e.BATCHLIGHT_MAX_RUN_ITEMS,
      promptsPerSet: e.BATCHLIGHT_MAX_PROMPTS_PER_SET,
      simOutputTokens: e.BATCHLIGHT_SIM_MAX_OUTPUT_TOKENS,
      simLatencyMs: e.BATCHLIGHT_SIM_MAX_LATENCY_MS,
      traceOutputChars: e.BATCHLIGHT_MAX_TRACE_OUTPUT_CHARS,
    },
  };
}

/** What the LLM client enforces of the limits. */
export function llmLimits(limits: Limits): LlmLimits {
  return {
    outputChars: limits.traceOutputChars,
    simulation: { outputTokens: limits.simOutputTokens, latencyMs: limits.simLatencyMs },
  };
}
