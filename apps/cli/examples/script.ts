// A script calling batchlight's API with full types: a wrong procedure or field fails to compile.
// It is typechecked with the CLI (`pnpm --filter @batchlight/cli typecheck`), so it cannot rot.
// Run it against a server (env BATCHLIGHT_SERVER, BATCHLIGHT_TOKEN) with any TypeScript runner,
// e.g. `npx tsx examples/script.ts` from apps/cli.

import type { AppRouter, inferRouterOutputs } from '@batchlight/api';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';

type Outputs = inferRouterOutputs<AppRouter>;

const server = process.env.BATCHLIGHT_SERVER ?? 'http://127.0.0.1:4700';
const token = process.env.BATCHLIGHT_TOKEN;
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

// Node 20 has no global WebSocket: hand `ws` to the client, made to send the token as a header
// on its upgrade (the server takes it nowhere else). The transformer goes in each link.
class AuthorizedWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols, { headers });
  }
}
const ws = createWSClient({
  url: `${server.replace(/^http/, 'ws')}/ws`,
  WebSocket: AuthorizedWebSocket as unknown as typeof globalThis.WebSocket,
});
const api = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: wsLink({ client: ws, transformer: superjson }),
      false: httpBatchLink({ url: `${server}/trpc`, transformer: superjson, headers }),
    }),
  ],
});

/** Runs the demo prompt set on two models, watches the events, then checks attribution. */
export async function main(): Promise<Outputs['runs']['audit']> {
  const models = await api.models.list.query();
  const sets = await api.promptSets.list.query();
  const demo = sets.find((s) => s.name === 'Demo: explain it');
  if (!demo || models.length < 2) throw new Error('start the server once: it seeds models and a demo prompt set');

  const run = await api.runs.create.mutate({
    promptSetId: demo.id,
    modelIds: models.slice(0, 2).map((m) => m.id),
    concurrency: 8,
    delayMs: 0,
    promptLimit: 10,
  });

  // Every event is typed by its `type`: the payload narrows with it.
  await new Promise<void>((resolve, reject) => {
    const sub = api.runs.events.subscribe(
      { runId: run.id },
      {
        onData: ({ data: e }) => {
          if (e.type === 'item.completed')
            console.log(
              `#${e.payload.promptIndex} ${e.payload.requestedModel} → ${e.payload.responseModel} (${e.payload.attribution}) ${e.payload.latencyMs} ms`,
            );
          if (e.type === 'item.failed')
            console.log(`#${e.payload.promptIndex} failed: ${e.payload.errorType} ${e.payload.message}`);
          if (e.type === 'run.finished') {
            sub.unsubscribe();
            resolve();
          }
        },
        onError: reject,
      },
    );
  });

  const audit = await api.runs.audit.query({ runId: run.id });
  console.log(`run ${run.id}: ${audit.tracesChecked} traces checked, ${audit.counts.mismatch} attribution mismatches`);
  ws.close();
  return audit;
}

/** Never called: shows what the compiler refuses (each line fails to typecheck without its marker). */
export async function refusedByTheCompiler() {
  // @ts-expect-error: no such procedure
  await api.runs.start.mutate({ promptSetId: 'x' });
  // @ts-expect-error: `concurrency` is required and `models` is not a field
  await api.runs.create.mutate({ promptSetId: 'x', models: ['y'] });
  const run = await api.runs.get.query({ id: 'x' });
  // @ts-expect-error: a run has no `model` column; its models are in `run.models`
  console.log(run.model);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().then(
    (audit) => process.exit(audit.ok ? 0 : 1),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
