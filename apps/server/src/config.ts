// The server's settings, from the environment (DESIGN.md, "Running it").
import { DEFAULT_DATABASE_URL } from '@batchlight/db';

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
  /** On SIGTERM/SIGINT, how long calls in flight may take to finish before they are cut off. */
  shutdownGraceMs: number;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1|\[::1\])$/;

export class ConfigError extends Error {}

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

export function loadConfig(env: NodeJS.ProcessEnv, monitorDir?: string): ServerConfig {
  const host = env.HOST || '127.0.0.1';
  const port = env.PORT === undefined || env.PORT === '' ? 4700 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a port number (0-65535), got "${env.PORT}"`);
  const token = env.BATCHLIGHT_TOKEN || undefined;
  const grace = env.BATCHLIGHT_SHUTDOWN_GRACE_MS;
  const shutdownGraceMs = grace === undefined || grace === '' ? 30_000 : Number(grace);
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0 || shutdownGraceMs > 3_600_000) {
    throw new ConfigError(`BATCHLIGHT_SHUTDOWN_GRACE_MS must be whole milliseconds (0-3600000), got "${grace}"`);
  }
  if (!isLoopback(host) && !token) {
    throw new ConfigError(
      `refusing to listen on ${host} without BATCHLIGHT_TOKEN: anyone who can reach it could run models on your keys. ` +
        'Set BATCHLIGHT_TOKEN, or bind HOST=127.0.0.1.',
    );
  }
  return {
    host,
    port,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    token,
    secretKey: env.BATCHLIGHT_SECRET_KEY || undefined,
    openaiApiKey: !!env.OPENAI_API_KEY,
    hfToken: !!env.HF_TOKEN,
    monitorDir,
    seed: env.BATCHLIGHT_SEED !== '0',
    llmWorker: env.BATCHLIGHT_LLM_WORKER !== '0',
    shutdownGraceMs,
  };
}
