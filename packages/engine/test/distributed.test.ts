// The distributed executor's recovery at a worker's start (recoverFlows, ShardQueue.ensure), on the
// real PostgreSQL and Redis. Engines stand for processes: an `api` one, which executes nothing, and
// a worker started later. A run the queue holds whose flow is not on Redis (its holder stopped
// between the claim and the add) is added; a flow whose finishing job failed for good (its worker's
// database was away through every attempt) has that job tried again, and the run ends.
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, type Db, migrate } from '@batchlight/db';
import { type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { createLlmClient, type LlmClient } from '@batchlight/llm';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun, createEngine, type Engine, readEventLog } from '../src/index.js';
import { finishJobId, SHARD_QUEUE } from '../src/queues/shards.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY_ENV = 'LLM_KEY_TEST_DISTRIBUTED';
const N = 200; // 4 shards of 50

let t: TempDatabase;
let db: Db;
let fake: FakeServer;
const closing: Array<() => Promise<unknown>> = [];
const logs: string[] = [];

beforeAll(async () => {
  process.env[KEY_ENV] = 'sk-distributed-test';
  fake = await startFakeOpenAI({ behavior: { latencyMs: 2 } });
  t = await tempDatabase('postgresql');
  await migrate(t.url);
  db = await createDb(t.url);
});

afterAll(async () => {
  for (const c of closing.reverse()) await c();
  await db?.close();
  await t?.drop();
  await fake?.close();
});

/**
 * A deployment of its own on the shared Redis (a queue no other test's engines take from): its
 * queue, and engines as its processes run them: `api` executes nothing, `worker` takes shards.
 */
function deployment() {
  const prefix = `batchlight-test:engine-dist:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const queue = new Queue(SHARD_QUEUE, { connection: { url: REDIS_URL }, prefix });
  closing.push(async () => {
    await queue.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const engine = (role: 'api' | 'worker'): Engine => {
    const llm: LlmClient = createLlmClient();
    const e = createEngine({
      db,
      llm,
      log: (m) => logs.push(`${role}: ${m}`),
      execute: role === 'worker',
      relay: false,
      lease: { leaseMs: 2000, heartbeatMs: 200 },
      distributed: { redisUrl: REDIS_URL, prefix, shardSize: 50, lockDurationMs: 4000, stalledIntervalMs: 1000 },
    });
    closing.push(
      async () => llm.close?.(),
      () => e.close(),
    );
    return e;
  };
  return { prefix, queue, engine };
}

/** A model of its own on the fake and a prompt set of N: its requests are told apart by model. */
async function fixtures(name: string) {
  const model = await db.prisma.model.create({
    data: {
      name,
      provider: 'openai',
      providerModel: name,
      baseUrl: `${fake.url}/v1`,
      credentialEnv: KEY_ENV,
      params: { stream: false },
    },
  });
  const set = await db.prisma.promptSet.create({
    data: {
      name,
      promptCount: N,
      prompts: { create: Array.from({ length: N }, (_, index) => ({ index, input: `prompt ${index} of ${name}` })) },
    },
  });
  return { modelId: model.id, promptSetId: set.id };
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; logs:\n${logs.join('\n')}`);
    await sleep(100);
  }
}

const runOf = (id: string) => db.prisma.run.findUniqueOrThrow({ where: { id } });

/** Each item completed with one ok trace, each prompt sent once; the audit is clean. */
async function expectEachItemOnce(runId: string, name: string) {
  const run = await runOf(runId);
  expect([run.status, run.completedItems, run.failedItems, run.cancelledItems]).toEqual(['completed', N, 0, 0]);
  const ok = await db.prisma.trace.findMany({ where: { runId, status: 'ok' }, select: { itemId: true } });
  expect(new Set(ok.map((tr) => tr.itemId)).size).toBe(N);
  expect(ok).toHaveLength(N);
  const sent = fake.requests.filter((r) => r.model === name).map((r) => r.body.preview);
  expect(sent).toHaveLength(N);
  expect(new Set(sent).size).toBe(N);
  expect((await auditRun(db.prisma, runId)).verdict).toBe('ok');
}

/** The statuses of the run's run.finished events, in its log's order. */
async function endings(runId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readEventLog(db, runId, 0)) if (e.type === 'run.finished') out.push(e.payload.status);
  return out;
}

describe('the distributed executor at a worker’s start', () => {
  it('adds the flow of a run the queue holds when Redis has none of it; the run completes, each item once', async () => {
    const { queue, engine } = deployment();
    const api = engine('api');
    const { modelId, promptSetId } = await fixtures('flow-missing');
    const run = await api.createRun({ promptSetId, modelIds: [modelId], concurrency: 4, delayMs: 0 });
    const stretch = (await runOf(run.id)).executorId!;
    expect(stretch).toMatch(/^queue:/);
    // Its holder stopped between the claim and the add: none of the stretch's jobs are on Redis.
    await queue.remove(finishJobId(run.id, stretch), { removeChildren: true });
    expect(await queue.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 0, 'waiting-children': 0 });
    await sleep(1000); // several of the api engine's heartbeats: nothing adds it back, nothing executes it
    expect([(await runOf(run.id)).status, fake.requests.filter((r) => r.model === 'flow-missing')]).toEqual([
      'queued',
      [],
    ]);

    engine('worker');
    await until('the run to complete', async () => (await runOf(run.id)).status === 'completed');
    await expectEachItemOnce(run.id, 'flow-missing');
    expect(await endings(run.id)).toEqual(['completed']);
  });

  it('tries a finishing job that failed for good again: the run ends, and a resume completes it', async () => {
    const { prefix, queue, engine } = deployment();
    const api = engine('api');
    const { modelId, promptSetId } = await fixtures('finish-failed');
    const run = await api.createRun({ promptSetId, modelIds: [modelId], concurrency: 4, delayMs: 0 });
    const stretch = (await runOf(run.id)).executorId!;
    // A worker whose database is away through every attempt: each job of the flow fails for good,
    // its shards first (the run's finishing job does not wait on a failed shard), then that job.
    const away = new Worker(
      SHARD_QUEUE,
      async () => {
        throw new UnrecoverableError('the database is away');
      },
      { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix },
    );
    const finish = finishJobId(run.id, stretch);
    await until('the finishing job to fail', async () => (await queue.getJob(finish))?.isFailed());
    await away.close();
    await sleep(1000); // nothing ends the run now: it stays queued, held by the queue
    expect(await runOf(run.id)).toMatchObject({ status: 'queued', executorId: stretch, completedItems: 0 });

    engine('worker');
    const ended = await until('the run to end', async () => {
      const r = await runOf(run.id);
      return r.status !== 'queued' && r.status !== 'running' && r;
    });
    // The shards failed, so their items were never executed: the run ends failed, saying why,
    // with those items cancelled (a resume runs them).
    expect([ended.status, ended.completedItems, ended.cancelledItems, ended.executorId]).toEqual([
      'failed',
      0,
      N,
      null,
    ]);
    expect(ended.error).toMatch(/left pending by shards that failed/);
    expect(await endings(run.id)).toEqual(['failed']);

    await api.resumeRun(run.id);
    await until('the resumed run to complete', async () => (await runOf(run.id)).status === 'completed');
    await expectEachItemOnce(run.id, 'finish-failed');
    expect(await endings(run.id)).toEqual(['failed', 'completed']);
  });
});
