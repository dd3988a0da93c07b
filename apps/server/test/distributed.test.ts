// The distributed executor: one `api` process and two `worker` processes on one PostgreSQL
// database and Redis. A run is split into shards (BullMQ jobs) that both workers execute, under
// the run's concurrency and delay held across them; a worker killed mid-run has its shards taken
// over by the other; a cancel sent to the api process reaches both workers.

import { tempDatabase } from '@batchlight/db/testing';
import type { RunEventMessage } from '@batchlight/engine/events';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  allItems,
  allTraces,
  type Client,
  cleanupsAfterAll,
  collectEvents,
  fakeModel,
  makeClient,
  promptSet,
  requestsByPrompt,
  serverProcess,
  waitFor,
} from './helpers.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A deployment of its own on the shared Redis: a queue, call slots and paces no other test sees. */
function deployment(cleanups: Array<() => Promise<void> | void>) {
  const prefix = `batchlight-test:dist:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  cleanups.push(async () => {
    const redis = new Redis(REDIS_URL);
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...batch);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    redis.disconnect();
  });
  return {
    REDIS_URL,
    BATCHLIGHT_QUEUE_PREFIX: prefix,
    BATCHLIGHT_RATE_LIMIT_PREFIX: `${prefix}:rl`,
    BATCHLIGHT_SHARD_SIZE: '250',
    // A killed worker's shards are taken over after about 4 s (its lock), looked for every second.
    BATCHLIGHT_SHARD_LOCK_MS: '4000',
    BATCHLIGHT_STALLED_INTERVAL_MS: '1000',
    BATCHLIGHT_LEASE_MS: '2000',
    BATCHLIGHT_HEARTBEAT_MS: '200',
  };
}

interface Cluster {
  api: Client;
  workers: Array<Awaited<ReturnType<typeof serverProcess>>>;
  workerClients: Client[];
}

/** An api process and two workers on a new PostgreSQL database and a deployment of their own. */
async function cluster(cleanups: Array<() => Promise<void> | void>): Promise<Cluster> {
  const db = await tempDatabase('postgresql');
  cleanups.push(() => db.drop());
  const env = deployment(cleanups);
  const api = await serverProcess(db.url, { ...env, BATCHLIGHT_ROLE: 'api' });
  cleanups.push(() => api.stop('SIGKILL'));
  const workers = await Promise.all([0, 1].map(() => serverProcess(db.url, { ...env, BATCHLIGHT_ROLE: 'worker' })));
  for (const w of workers) cleanups.push(() => w.stop('SIGKILL'));
  const a = makeClient(api.url);
  cleanups.push(a.close);
  const workerClients = workers.map((w) => {
    const c = makeClient(w.url);
    cleanups.push(c.close);
    return c.client;
  });
  return { api: a.client, workers, workerClients };
}

/** Which workers executed a shard of the run, from their health, polled until `until` resolves. */
function watchShards(clients: Client[], runId: string, until: Promise<unknown>): Promise<Set<number>> {
  const seen = new Set<number>();
  let over = false;
  void until.finally(() => {
    over = true;
  });
  return (async () => {
    while (!over) {
      const healths = await Promise.all(clients.map((c) => c.health.query().catch(() => null)));
      healths.forEach((h, i) => {
        if (h?.queue?.shards.some((s) => s.runId === runId)) seen.add(i);
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    return seen;
  })();
}

/** Every event of the run once, in order, ending with run.finished; the same as the log replayed. */
async function expectEventsOnce(client: Client, runId: string, live: RunEventMessage[], items: number) {
  expect(live.map((e) => e.seq)).toEqual(Array.from({ length: live.length }, (_, i) => i + 1));
  expect(live.at(-1)!.type).toBe('run.finished');
  expect(live.filter((e) => e.type === 'item.completed')).toHaveLength(items);
  const log = await collectEvents(client, runId, { timeoutMs: 60_000 });
  expect(live.map((e) => [e.seq, e.type])).toEqual(log.map((e) => [e.seq, e.type]));
}

/** Each item completed once; each prompt sent to each model once, plus once per call of it a kill cut off. */
async function expectEachItemOnce(client: Client, fake: FakeServer, runId: string, prompts: number, models: string[]) {
  const items = await allItems(client, runId);
  expect(items).toHaveLength(prompts * models.length);
  expect(items.every((i) => i.status === 'completed')).toBe(true);
  const traces = await allTraces(client, runId);
  const ok = traces.filter((t) => t.status === 'ok');
  expect(ok).toHaveLength(items.length);
  expect(new Set(ok.map((t) => t.itemId)).size).toBe(items.length);
  const itemOf = new Map(items.map((i) => [i.id, i]));
  const sent = requestsByPrompt(fake);
  for (let p = 0; p < prompts; p++) {
    const requests = [...sent].find(([preview]) => preview.startsWith(`Prompt number ${p}:`))?.[1] ?? [];
    for (const model of models) {
      const cut = traces.filter(
        (t) => t.status === 'interrupted' && itemOf.get(t.itemId!)?.promptIndex === p && t.requestedModel === model,
      ).length;
      const calls = requests.filter((r) => r.model === model).length;
      expect(calls, `prompt ${p} of ${model}`).toBeGreaterThanOrEqual(1);
      expect(calls, `prompt ${p} of ${model}`).toBeLessThanOrEqual(1 + cut);
    }
  }
  // The fake's log agrees with every trace's model.
  for (const t of ok) expect(t.responseModel).toBe(t.requestedModel);
  const audit = await client.runs.audit.query({ runId });
  expect(audit.verdict).toBe('ok');
}

describe('the distributed executor: an api process and two workers on PostgreSQL and Redis', () => {
  const cleanups = cleanupsAfterAll();

  it('runs 3,000 items across both workers: each once, never more in flight than the run’s concurrency', async () => {
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 5 } });
    cleanups.push(() => fake.close());
    const { api, workerClients } = await cluster(cleanups);
    const names = ['dist-a', 'dist-b', 'dist-c'];
    const models = [];
    for (const name of names) models.push(await fakeModel(api, fake.url, name));
    const n = 1000;
    const set = await promptSet(api, n);
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.id),
      concurrency: 32,
      delayMs: 0,
    });
    const events = collectEvents(api, run.id, { timeoutMs: 120_000 });
    const executedBy = watchShards(workerClients, run.id, events);
    const live = await events;

    const done = await api.runs.get.query({ id: run.id });
    expect([done.status, done.completedItems, done.failedItems, done.cancelledItems]).toEqual([
      'completed',
      3 * n,
      0,
      0,
    ]);
    expect([...(await executedBy)].sort()).toEqual([0, 1]);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(32);
    expect(fake.maxInFlight()).toBeGreaterThan(1);
    await expectEachItemOnce(api, fake, run.id, n, names);
    await expectEventsOnce(api, run.id, live, 3 * n);
    // Nothing left on the queue; the api process executes nothing.
    const health = await api.health.query();
    expect(health.executing).toEqual([]);
    expect(health.queue).toMatchObject({ waiting: 0, active: 0, shards: [] });
    expect(done.executorId).toBeNull();
  });
});
