import type { Db } from '@batchlight/db';
import type { Engine } from '@batchlight/engine';
import type { CallPolicy } from '@batchlight/llm';

/** The server's limits the API checks (README, "Configuration"). */
export interface ApiLimits {
  /** Request body, bytes (the server enforces it; the API words the 413). */
  bodyBytes: number;
  promptsPerSet: number;
  simOutputTokens: number;
  simLatencyMs: number;
}

export interface Context {
  db: Db;
  engine: Engine;
  /** Encrypts keys saved through models.create/update (BATCHLIGHT_SECRET_KEY). */
  secretKey: string | undefined;
  /** Which key variables and hosts a model may be saved with. */
  policy: CallPolicy;
  limits: ApiLimits;
  /** What this process does (BATCHLIGHT_ROLE): `all`, `api` (executes no call) or `worker`. */
  role?: 'all' | 'api' | 'worker';
  /**
   * On a WebSocket connection: bytes sent but not yet taken by the peer (its socket's buffer). A
   * subscription waits while it is high instead of piling events up in server memory.
   */
  outbound?: { bufferedBytes(): number };
}

/**
 * Built once per server; every request and WebSocket connection gets the same services, and a
 * WebSocket connection (`res` is its socket) its own `outbound`.
 */
export function createTRPCContext(services: Context) {
  return (opts?: { res?: unknown }): Context => {
    const socket = opts?.res as { bufferedAmount?: unknown } | undefined;
    if (typeof socket?.bufferedAmount !== 'number') return services;
    return { ...services, outbound: { bufferedBytes: () => socket.bufferedAmount as number } };
  };
}
