// A script calling batchlight's API with full types: a wrong procedure or field fails to compile.
// Run it with: pnpm --filter @batchlight/cli exec tsx examples/script.ts  (server on :4700)
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '@batchlight/api';

const api = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: 'http://127.0.0.1:4700/trpc', transformer: superjson })],
});

export async function main() {
  const models = await api.models.list.query();
  const [set] = await api.promptSets.list.query();
  if (!set || models.length < 2) throw new Error('start the server once: it seeds models and a demo prompt set');
  const run = await api.runs.create.mutate({
    promptSetId: set.id,
    modelIds: models.slice(0, 2).map((m) => m.id),
    concurrency: 8,
    delayMs: 0,
    promptLimit: 10,
  });
  // Poll until done (the CLI's `follow` uses the runs.events WebSocket subscription instead).
  for (;;) {
    const r = await api.runs.get.query({ id: run.id });
    if (['completed', 'failed', 'cancelled'].includes(r.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const audit = await api.runs.audit.query({ runId: run.id });
  console.log(`run ${run.id}: ${audit.tracesChecked} traces, ${audit.counts.mismatch} attribution mismatches`);
}
