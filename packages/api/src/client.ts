// The typed client of the API for programs: the CLI, bench and the tests (the monitor, in a
// browser, keeps its own). Queries and mutations go over HTTP in batches, `runs.export` over
// httpBatchStreamLink (chunk by chunk), subscriptions over one WebSocket when one is given.
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpBatchStreamLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
  type WebSocketClientOptions,
  wsLink,
} from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from './root.js';

export type Client = TRPCClient<AppRouter>;

/** A WebSocket class that takes `{ headers }` as its third argument, as `ws`'s does. */
export type HeaderWebSocket = new (
  address: string | URL,
  protocols: string | string[] | undefined,
  options: { headers: Record<string, string> },
) => object;

export interface ClientOptions {
  /** The server, e.g. http://127.0.0.1:4700. */
  url: string;
  /** BATCHLIGHT_TOKEN, sent as `Authorization: Bearer …` (never in a URL, which servers log). */
  token?: string | undefined;
  /** For subscriptions (`runs.events`, `runs.feed`): Node 20 has no global WebSocket, pass `ws`. */
  WebSocket?: HeaderWebSocket;
  /** The WebSocket client's other settings (lazy opening, reconnect delays). */
  ws?: Omit<WebSocketClientOptions, 'url' | 'WebSocket'>;
}

export interface Connection {
  client: Client;
  /** Closes the WebSocket, if one was opened. */
  close(): void;
}

export function createClient(opts: ClientOptions): Connection {
  const base = opts.url.replace(/\/+$/, '');
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const http: TRPCLink<AppRouter> = splitLink({
    condition: (op) => op.path === 'runs.export',
    true: httpBatchStreamLink({ url: `${base}/trpc`, transformer: superjson, headers }),
    false: httpBatchLink({ url: `${base}/trpc`, transformer: superjson, headers }),
  });
  const Socket = opts.WebSocket;
  if (!Socket) return { client: createTRPCClient<AppRouter>({ links: [http] }), close: () => {} };
  // The token goes on the upgrade request as a header: the server takes it nowhere else.
  class WithHeaders extends (Socket as new (...args: unknown[]) => object) {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const ws = createWSClient({
    url: `${base.replace(/^http/, 'ws')}/ws`,
    WebSocket: WithHeaders as unknown as typeof globalThis.WebSocket,
    ...opts.ws,
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws, transformer: superjson }),
        false: http,
      }),
    ],
  });
  return { client, close: () => ws.close() };
}
