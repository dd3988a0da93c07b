// Diagnostic (not part of pnpm bench): the server process under three concurrent 500 MB request
// bodies, as issue 13 sent them. Prints the server's RSS before and at its peak, how much of each
// body got out before the server stopped reading, each answer's status, and /trpc/health's
// latency (every 100 ms while the bodies are in flight). `node dist/bodyprobe.js [MB] [count]
// [chunked|declared]`.
import { readFileSync, writeFileSync } from 'node:fs';
import { percentile } from '@batchlight/api/stats';
import { sendLargeBody } from '@batchlight/testkit';
import { startServer } from './processes.js';

const mb = Number(process.argv[2] ?? 500);
const count = Number(process.argv[3] ?? 3);
const declared = process.argv[4] === 'declared';
const server = await startServer(`file:/tmp/bodyprobe-${Date.now()}.db`);
const status = () => readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(status())?.[1] ?? 0) / 1024;
await new Promise((r) => setTimeout(r, 1000));
writeFileSync(`/proc/${server.child.pid}/clear_refs`, '5'); // VmHWM from here on
const before = rssMb();

const send = async (total: number) => {
  const r = await sendLargeBody(`${server.url}/trpc/promptSets.create`, total, { declared, chunkBytes: 1024 * 1024 });
  return { status: r.status, sentMb: Math.round(r.sent / 1024 / 1024) };
};

await (await fetch(`${server.url}/trpc/health`)).text(); // the probe's own first fetch sets up its client
const latencies: number[] = [];
let running = true;
const probe = (async () => {
  while (running) {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/trpc/health`);
    await res.text();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: count }, () => send(mb * 1024 * 1024)));
const elapsed = performance.now() - t0;
await new Promise((r) => setTimeout(r, 1500)); // the lingering closes, and a few more probes
running = false;
await probe;
const peak = Number(/VmHWM:\s+(\d+)/.exec(status())?.[1] ?? 0) / 1024;
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => (percentile(sorted, p) ?? Number.NaN).toFixed(1);
const statuses = results.map((r) => r.status).join(', ');
const sent = results.map((r) => `${r.sentMb} MB`).join(', ');
const how = declared ? 'with Content-Length' : 'chunked';
console.log(`${count} x ${mb} MB ${how}: answers ${statuses}; sent before the server stopped reading: ${sent}`);
console.log(`all answered in ${elapsed.toFixed(0)} ms`);
console.log(`server RSS: ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB, ${rssMb().toFixed(0)} MB after`);
console.log(latencies.map((l) => l.toFixed(1)).join(' '));
console.log(
  `/trpc/health: ${latencies.length} probes, p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
);
await server.stop();
process.exit(0);
