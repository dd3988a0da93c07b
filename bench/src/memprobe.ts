// Diagnostic: server RSS through the phases of a large run (not part of pnpm bench): RSS now and
// the peak since the last line (VmHWM, reset after each line through /proc/<pid>/clear_refs), so
// a peak is attributed to the phase it happened in.
import { readFileSync, writeFileSync } from 'node:fs';
import { createClient } from '@batchlight/api/client';
import { ACTIVE_RUN_STATUSES } from '@batchlight/api/schemas';
import { startFake, startServer } from './processes.js';

const n = Number(process.argv[2] ?? 50_000);
const fake = await startFake(0);
const server = await startServer(`file:/tmp/memprobe-${Date.now()}.db`);
const rss = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const show = (label: string) => {
  console.log(label, 'rss', rss().toFixed(0), 'peak', server.peakRssMb().toFixed(0));
  writeFileSync(`/proc/${server.child.pid}/clear_refs`, '5'); // "5" resets VmHWM to the current RSS
};
const { client: api } = createClient({ url: server.url });
show('start');
const model = await api.models.create.mutate({
  name: 'm',
  provider: 'openai',
  providerModel: 'bench-model',
  baseUrl: `${fake.url}/v1`,
  credentialEnv: 'LLM_KEY_BENCH',
});
const set = await api.promptSets.create.mutate({
  name: 's',
  prompts: Array.from({ length: n }, (_, i) => ({ input: `Benchmark prompt ${i}` })),
});
show('prompt set');
const run = await api.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 64, delayMs: 0 });
show('run create');
for (;;) {
  await new Promise((r) => setTimeout(r, 5000));
  const r = await api.runs.get.query({ id: run.id });
  show(`${r.completedItems} done`);
  if (!(ACTIVE_RUN_STATUSES as readonly string[]).includes(r.status)) break;
}
await server.stop();
await fake.stop();
process.exit(0);
