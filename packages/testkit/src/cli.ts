#!/usr/bin/env node
import { startFakeOpenAI } from './fake.js';

/**
 * A fake OpenAI server as its own process (for benchmarks):
 *   node dist/cli.js --port 0 --latency 50 [--latency-p95 200] [--host 127.0.0.1] [--record-starts] [--log]
 *     [--limit-rpm 1200 [--limit-burst 20]]
 * Prints one JSON line {"url":..., "port":...} on stdout once listening. Control API on the same
 * server: GET /__fake/stats, POST /__fake/reset.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  return v && !v.startsWith('--') ? v : '';
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const port = Number(arg('port') ?? 0);
const latency = Number(arg('latency') ?? 0);
const p95 = arg('latency-p95');
const limitRpm = arg('limit-rpm');
const limitBurst = arg('limit-burst');
const fake = await startFakeOpenAI({
  port,
  host: arg('host') || '127.0.0.1',
  logRequests: flag('log'),
  recordStarts: flag('record-starts'),
  behavior: { latencyMs: p95 ? { p50: latency, p95: Number(p95) } : latency },
  ...(limitRpm
    ? { limit: { requestsPerMinute: Number(limitRpm), ...(limitBurst ? { burst: Number(limitBurst) } : {}) } }
    : {}),
});
process.stdout.write(`${JSON.stringify({ url: fake.url, port: fake.port })}\n`);
const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
