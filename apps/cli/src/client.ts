// The typed client every command uses: queries and mutations over HTTP, the export stream over
// httpBatchStreamLink, subscriptions over a WebSocket that opens only when a command subscribes.
import { randomUUID } from 'node:crypto';
import type { AppRouter } from '@batchlight/api';
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpBatchStreamLink,
  splitLink,
  type TRPCClient,
  wsLink,
} from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';
import { isConnectionError } from './errors.js';

export type Client = TRPCClient<AppRouter>;

export interface Connection {
  client: Client;
  close(): void;
}

/** A WebSocket whose upgrade request carries `headers` (the token: never in the URL, which servers log). */
function webSocketWith(headers: Record<string, string>): typeof globalThis.WebSocket {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  } as unknown as typeof globalThis.WebSocket;
}

export function connect(server: string, token: string | undefined): Connection {
  const base = server.replace(/\/+$/, '');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const ws = createWSClient({
    url: `${base.replace(/^http/, 'ws')}/ws`,
    WebSocket: webSocketWith(headers),
    lazy: { enabled: true, closeMs: 0 },
    retryDelayMs: (attempt) => Math.min(250 * 2 ** attempt, 5000),
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws, transformer: superjson }),
        false: splitLink({
          condition: (op) => op.path === 'runs.export',
          true: httpBatchStreamLink({ url: `${base}/trpc`, transformer: superjson, headers }),
          false: httpBatchLink({ url: `${base}/trpc`, transformer: superjson, headers }),
        }),
      }),
    ],
  });
  return { client, close: () => ws.close() };
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
