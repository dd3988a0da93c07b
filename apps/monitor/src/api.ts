// The typed API client: queries and mutations over HTTP (batched), subscriptions over WebSocket.

import type { AppRouter, inferRouterOutputs } from '@batchlight/api';
import {
  createTRPCClient,
  createWSClient,
  httpBatchStreamLink,
  httpLink,
  splitLink,
  TRPCClientError,
  wsLink,
} from '@trpc/client';
import superjson from 'superjson';

export type Outputs = inferRouterOutputs<AppRouter>;
export type RunView = Outputs['runs']['get'];
export type ItemRow = Outputs['runs']['items']['items'][number];
export type ModelView = Outputs['models']['list'][number];

type ConnectionListener = (state: 'open' | 'closed') => void;
const listeners = new Set<ConnectionListener>();
export function onConnection(l: ConnectionListener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const wsClient = createWSClient({
  url: wsUrl,
  lazy: { enabled: true, closeMs: 5_000 },
  retryDelayMs: (attempt) => Math.min(300 * 2 ** attempt, 5_000),
  onOpen: () => {
    for (const l of listeners) l('open');
  },
  onClose: () => {
    for (const l of listeners) l('closed');
  },
});

export const api = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: wsLink({ client: wsClient, transformer: superjson }),
      // Batched, each answer streamed as soon as it is ready: a page's rows do not wait for the
      // pass rates asked with them. The audit reads a whole run (seconds at 100,000 items) and
      // goes alone, holding no batch's connection.
      false: splitLink({
        condition: (op) => op.path === 'runs.audit',
        true: httpLink({ url: '/trpc', transformer: superjson }),
        false: httpBatchStreamLink({ url: '/trpc', transformer: superjson }),
      }),
    }),
  ],
});

/** Field errors of a failed mutation ({ field: message }), for forms to place at their field. */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof TRPCClientError)) return {};
  const fe = (err.data as { fieldErrors?: Record<string, string[]> | null } | undefined)?.fieldErrors ?? {};
  return Object.fromEntries(Object.entries(fe).map(([k, v]) => [k, v.join(', ')]));
}

export function errorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) {
    const status = (err.meta as { response?: { status?: number } } | undefined)?.response?.status;
    if (status === 401) return 'Unauthorized: open this page once as /?token=<BATCHLIGHT_TOKEN>.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
