// The client every command uses (the API's client factory, with `ws` for subscriptions), and
// creation that is never done twice.
import { randomUUID } from 'node:crypto';
import { type Client, type Connection, createClient } from '@batchlight/api/client';
import WebSocket from 'ws';
import { isConnectionError } from './errors.js';

export type { Client };

/** The WebSocket opens only when a command subscribes, and closes as soon as it is done. */
export function connect(server: string, token: string | undefined): Connection {
  return createClient({
    url: server,
    token,
    WebSocket,
    ws: { lazy: { enabled: true, closeMs: 0 }, retryDelayMs: (attempt) => Math.min(250 * 2 ** attempt, 5000) },
  });
}

/**
 * Sends a create mutation under a fresh requestId, and once more under the same id if the
 * connection failed before an answer came: the server then returns what the first one created,
 * or creates it if it never arrived. Never twice.
 */
export async function createOnce<T>(send: (requestId: string) => Promise<T>): Promise<T> {
  const requestId = randomUUID();
  try {
    return await send(requestId);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    return send(requestId);
  }
}
