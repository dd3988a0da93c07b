// B8: the distributed executor. One 10,000-prompt run against the zero-latency fake, executed by
// one and then by two `worker` processes (an `api` process creates it and serves its events), on
// PostgreSQL and Redis: prompts/s each, their ratio, the workers' CPU per prompt, and the event
// latency at the api process. On a 2-core machine a second worker shares the same cores: the
// ratio says what sharding costs there, not what more machines would give (README, "Running
// several processes").
import type { TailMessage } from '@batchlight/api';
import { type Client, createClient } from '@batchlight/api/client';
import { percentile } from '@batchlight/api/stats';
import { tempPostgres } from '@batchlight/db/testing';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { fakeReset, fakeStats, type Proc, startServerWith } from './processes.js';

export interface BenchRow {
  id: string;
  what: string;
  value: string;
  target: string;
  pass: boolean | null;
}

const PROMPTS = 10_000;
const f = (n: number, d = 2) => n.toFixed(d);

/** Whether Redis answers at `url` within a second. */
async function redisUp(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), new Promise((_, no) => setTimeout(no, 1000))]);
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...batch);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}

/** Creates the run, follows its events on the api process to run.finished; the wall time and event lags. */
async function timedRun(api: Client, input: Parameters<Client['runs']['create']['mutate']>[0]) {
  const lags: number[] = [];
  const t0 = performance.now();
  const created = await api.runs.create.mutate(input);
  await new Promise<void>((resolve, reject) => {
    const sub = api.runs.events.subscribe(
      { runId: created.id },
      {
        onData: ({ data }: { data: TailMessage }) => {
          if (data.type === 'item.completed') lags.push(Date.now() - Date.parse(data.at));
          if (data.type === 'run.finished') {
            sub.unsubscribe();
            resolve();
          }
        },
        onError: reject,
      },
    );
  });
  const wallMs = performance.now() - t0;
  return { run: await api.runs.get.query({ id: created.id }), wallMs, lags: lags.sort((a, b) => a - b) };
}

/** One api process and `workers` worker processes on `databaseUrl`: one measured run. */
async function measure(databaseUrl: string, redisUrl: string, fake: Proc, workers: number) {
  const prefix = `batchlight-bench:${process.pid}:${workers}w`;
  const env = { REDIS_URL: redisUrl, BATCHLIGHT_QUEUE_PREFIX: prefix, BATCHLIGHT_RATE_LIMIT_PREFIX: `${prefix}:rl` };
  const procs: Proc[] = [];
  let close: () => void = () => undefined;
  try {
    procs.push(await startServerWith(databaseUrl, { ...env, BATCHLIGHT_ROLE: 'api' }));
    for (let i = 0; i < workers; i++)
      procs.push(await startServerWith(databaseUrl, { ...env, BATCHLIGHT_ROLE: 'worker' }));
    const c = createClient({ url: procs[0]!.url, WebSocket });
    close = c.close;
    const api = c.client;
    const model = await api.models.create.mutate({
      name: `bench-b8-${workers}-${Math.random().toString(36).slice(2, 8)}`,
      provider: 'openai',
      providerModel: 'bench-model',
      baseUrl: `${fake.url}/v1`,
      credentialEnv: 'LLM_KEY_BENCH',
      pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    });
    const set = await api.promptSets.create.mutate({
      name: `bench b8 ${workers}`,
      prompts: Array.from({ length: PROMPTS }, (_, i) => ({ input: `Benchmark prompt ${i}: answer briefly.` })),
    });
    const input = { promptSetId: set.id, modelIds: [model.id], concurrency: 64, delayMs: 0 };
    await timedRun(api, { ...input, promptLimit: 500 }); // warm: V8's optimising compiler, connections
    await fakeReset(fake.url);
    const cpu0 = procs.map((p) => p.cpuMs());
    const r = await timedRun(api, input);
    const cpu = procs.map((p, i) => p.cpuMs() - cpu0[i]!);
    const stats = await fakeStats(fake.url);
    const audit = await api.runs.audit.query({ runId: r.run.id });
    return {
      workers,
      perSecond: PROMPTS / (r.wallMs / 1000),
      wallMs: r.wallMs,
      /** CPU per prompt of the workers together, and of the api process. */
      workerCpuMs: cpu.slice(1).reduce((a, b) => a + b, 0) / PROMPTS,
      apiCpuMs: cpu[0]! / PROMPTS,
      eventP50: percentile(r.lags, 50) ?? Number.NaN,
      eventP99: percentile(r.lags, 99) ?? Number.NaN,
      correct: r.run.completedItems === PROMPTS && stats.total === PROMPTS && audit.ok,
      fakeSaw: stats.total,
    };
  } finally {
    close();
    await Promise.all(procs.map((p) => p.stop()));
    await dropKeys(redisUrl, prefix).catch(() => undefined);
  }
}

export async function distributedThroughput(fake: Proc): Promise<{ rows: BenchRow[]; result: unknown }> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const skip = (why: string) => ({
    rows: [
      {
        id: 'B8',
        what: 'distributed executor: 1 vs 2 workers',
        value: `skipped: ${why}`,
        target: 'report',
        pass: null,
      },
    ],
    result: { skipped: why },
  });
  if (!(await redisUp(redisUrl))) return skip(`Redis does not answer at ${redisUrl} (start redis-server)`);
  let pg: Awaited<ReturnType<typeof tempPostgres>>;
  try {
    pg = await tempPostgres();
  } catch (err) {
    return skip(`PostgreSQL is not reachable (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    const one = await measure(pg.url, redisUrl, fake, 1);
    const two = await measure(pg.url, redisUrl, fake, 2);
    const ratio = two.perSecond / one.perSecond;
    const line = (m: typeof one) =>
      `${f(m.perSecond, 0)} prompts/s (${f(m.wallMs / 1000, 1)} s), workers' CPU ${f(m.workerCpuMs, 3)} ms/prompt, ` +
      `api ${f(m.apiCpuMs, 3)}`;
    return {
      result: { one, two, ratio },
      rows: [
        {
          id: 'B8',
          what: `${PROMPTS.toLocaleString('en')} prompts, C=64, 0 ms fake, 1 worker`,
          value: line(one),
          target: 'report',
          pass: null,
        },
        { id: 'B8', what: 'the same, 2 workers', value: line(two), target: 'report', pass: null },
        {
          id: 'B8',
          what: '2 workers / 1 worker, throughput (2 cores: a speed-up is not expected)',
          value: `${f(ratio)}×`,
          target: 'report',
          pass: null,
        },
        {
          id: 'B8',
          what: 'event latency at the api process (commit → WebSocket), 1 / 2 workers',
          value: `p50 ${f(one.eventP50, 0)} / ${f(two.eventP50, 0)} ms, p99 ${f(one.eventP99, 0)} / ${f(two.eventP99, 0)} ms`,
          target: 'report',
          pass: null,
        },
        {
          id: 'B5',
          what: 'correctness after B8 (1 and 2 workers)',
          target: 'no mismatch; counters = fake log',
          pass: one.correct && two.correct,
          value: `fake saw ${one.fakeSaw} / ${two.fakeSaw}; audit and counters ${one.correct && two.correct ? 'ok' : 'FAIL'}`,
        },
      ],
    };
  } finally {
    await pg.drop();
  }
}
