// Diagnostic: where the server's event loop is held up in a large run (not part of pnpm bench).
// A second loop asks /trpc/health every 50 ms on a fresh connection while one 100,000-prompt set is
// created, run at C=64 against a zero-latency fake, and compared; answers slower than 300 ms are
// printed with the phase they fell in. `N=100000 node bench/dist/stallprobe.js`.
import { createClient } from '@batchlight/api/client';
import { tempSqlite } from '@batchlight/db/testing';
import { startFake, startServer } from './processes.js';

const n = Number(process.env.N ?? 100_000);
const db = tempSqlite();
const fake = await startFake(0);
const server = await startServer(db.url);
const api = createClient({ url: server.url }).client;
let phase = 'idle';
const slow: string[] = [];
let stop = false;
const probe = (async () => {
  while (!stop) {
    const t = performance.now();
    try {
      await fetch(`${server.url}/trpc/health`, { headers: { connection: 'close' } }).then((r) => r.text());
    } catch (e) {
      slow.push(`${phase}: error ${String(e)}`);
    }
    const ms = performance.now() - t;
    if (ms > 300) slow.push(`${phase}: health ${ms.toFixed(0)} ms at ${new Date().toISOString()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
})();
const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
phase = 'model';
const model = await api.models.create.mutate({
  name: 'probe',
  provider: 'openai',
  providerModel: 'bench-model',
  baseUrl: `${fake.url}/v1`,
  credentialEnv: 'LLM_KEY_BENCH',
  params: { stream: true },
  pricing: { inputPerMTok: 1, outputPerMTok: 2 },
});
phase = 'promptSet.create';
log(phase);
const set = await api.promptSets.create.mutate({
  name: 'p',
  prompts: Array.from({ length: n }, (_, i) => ({ input: `Benchmark prompt ${i}: answer briefly.` })),
});
phase = 'runs.create';
log(phase);
const run = await api.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 64, delayMs: 0 });
phase = 'running';
log(phase);
for (;;) {
  const r = await api.runs.get.query({ id: run.id });
  if (r.status !== 'running' && r.status !== 'queued') break;
  await new Promise((res) => setTimeout(res, 200));
}
phase = 'finished';
log(phase);
await new Promise((r) => setTimeout(r, 5000));
phase = 'snapshot';
await api.runs.snapshot.query({ runId: run.id });
phase = 'compare';
await api.runs.compare.query({ runIds: [run.id] });
phase = 'after';
await new Promise((r) => setTimeout(r, 2000));
stop = true;
await probe;
console.log(slow.join('\n'));
await server.stop('SIGTERM');
await fake.stop('SIGTERM');
await db.drop();
