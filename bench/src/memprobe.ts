// Diagnostic: server RSS through the phases of a large run (not part of pnpm bench).
import { readFileSync } from 'node:fs';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '@batchlight/api';
import { startFake, startServer } from './processes.js';

const n = Number(process.argv[2] ?? 50_000);
const fake = await startFake(0);
const server = await startServer(`file:/tmp/memprobe-${Date.now()}.db`);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const api = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, transformer: superjson })] });
console.log('start', rss().toFixed(0));
const model = await api.models.create.mutate({ name: 'm', provider: 'openai', providerModel: 'bench-model', baseUrl: `${fake.url}/v1`, credentialEnv: 'BENCH_KEY' });
const set = await api.promptSets.create.mutate({ name: 's', prompts: Array.from({ length: n }, (_, i) => ({ input: `Benchmark prompt ${i}` })) });
console.log('after prompt set', rss().toFixed(0), 'peak', server.peakRssMb().toFixed(0));
const run = await api.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 64, delayMs: 0 });
console.log('after run create', rss().toFixed(0), 'peak', server.peakRssMb().toFixed(0));
for (;;) {
  await new Promise((r) => setTimeout(r, 5000));
  const r = await api.runs.get.query({ id: run.id });
  console.log(`${r.completedItems} done`, rss().toFixed(0), 'peak', server.peakRssMb().toFixed(0));
  if (r.status !== 'running' && r.status !== 'queued') break;
}
await server.stop();
await fake.stop();
process.exit(0);
