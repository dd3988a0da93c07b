// Several server processes on one PostgreSQL database (no Redis): each run executes in one process
// at a time, held by a lease; a holder that dies has its run taken over and resumed like a crash
// recovery; an `api` process executes no call, a `worker` does, and the api process relays its events.

import { tempDatabase } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
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
  startProcess,
  waitFor,
} from './helpers.js';

const LEASE = { BATCHLIGHT_LEASE_MS: '2000', BATCHLIGHT_HEARTBEAT_MS: '200' };

/** Each prompt of a promptSet() of `n` was sent once, plus once per call of it cut off by a kill. */
async function expectEachItemOnce(client: Client, fake: FakeServer, runId: string, n: number) {
  const items = await allItems(client, runId);
  expect(items).toHaveLength(n);
  expect(items.every((i) => i.status === 'completed')).toBe(true);
  const traces = await allTraces(client, runId);
  const ok = traces.filter((t) => t.status === 'ok');
  expect(ok).toHaveLength(n);
  expect(new Set(ok.map((t) => t.itemId)).size).toBe(n);
  const promptOf = new Map(items.map((i) => [i.id, i.promptIndex]));
  const sent = requestsByPrompt(fake);
  for (let p = 0; p < n; p++) {
    const cut = traces.filter((t) => t.status === 'interrupted' && promptOf.get(t.itemId!) === p).length;
    const calls = [...sent].find(([preview]) => preview.startsWith(`Prompt number ${p}:`))?.[1].length ?? 0;
    expect(calls, `prompt ${p}`).toBeGreaterThanOrEqual(1);
    expect(calls, `prompt ${p}`).toBeLessThanOrEqual(1 + cut);
  }
  const audit = await client.runs.audit.query({ runId });
  expect(audit.verdict).toBe('ok');
}

describe('several processes on one PostgreSQL database', () => {
  const cleanups = cleanupsAfterAll();

  it('executes a run in one process of three; a killed holder’s run is taken over and finishes once', async () => {
    const db = await tempDatabase('postgresql');
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 20 } });
    cleanups.push(() => fake.close());

    const a = await startProcess(cleanups, db.url, LEASE);
    const m = await fakeModel(a.client, fake.url, 'lease-model');
    const n = 100;
    const set = await promptSet(a.client, n);
    const run = await a.client.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 4,
      delayMs: 0,
    });
    await waitFor(async () => (await a.client.runs.get.query({ id: run.id })).completedItems >= 5);
    // Calls are held at the fake from here until the holder is killed: the run is mid-way throughout.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    fake.setBehavior({ latencyMs: 20, gate: () => held });

    // Two more processes start while the run executes: neither resumes it.
    const clients = await Promise.all([0, 1].map(() => startProcess(cleanups, db.url, LEASE)));
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 200)); // a heartbeat of theirs each time
      const executing = await Promise.all(clients.map((c) => c.client.health.query()));
      expect(executing.map((h) => h.executing)).toEqual([[], []]);
      expect((await a.client.health.query()).executing).toEqual([run.id]);
    }

    expect((await a.client.runs.get.query({ id: run.id })).status).toBe('running');
    await a.proc.stop('SIGKILL');
    fake.setBehavior({ latencyMs: 20 });
    release();
    const b = clients[0]!.client;
    const done = await waitFor(async () => {
      const r = await b.runs.get.query({ id: run.id });
      return r.status === 'completed' && r;
    });
    expect([done.completedItems, done.failedItems, done.cancelledItems]).toEqual([n, 0, 0]);
    await expectEachItemOnce(b, fake, run.id, n);
    // Exactly one of the two took it over.
    const healths = await Promise.all(clients.map((c) => c.client.health.query()));
    expect(healths.every((h) => h.executing.length === 0)).toBe(true);
    expect((await b.runs.get.query({ id: run.id })).executorId).toBeNull(); // the lease let go
  });

  it('an api process makes no call; a worker started on the same database completes its run', async () => {
    const db = await tempDatabase('postgresql');
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 5 } });
    cleanups.push(() => fake.close());

    const { client } = await startProcess(cleanups, db.url, { ...LEASE, BATCHLIGHT_ROLE: 'api' });
    expect((await client.health.query()).role).toBe('api');
    const m = await fakeModel(client, fake.url, 'role-model');
    const n = 30;
    const set = await promptSet(client, n);
    const run = await client.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 4, delayMs: 0 });
    // Several of its heartbeats: the run stays queued, the fake is never called.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fake.requests).toHaveLength(0);
    expect((await client.runs.get.query({ id: run.id })).status).toBe('queued');

    const worker = await serverProcess(db.url, { ...LEASE, BATCHLIGHT_ROLE: 'worker' });
    cleanups.push(() => worker.stop('SIGKILL'));
    // A worker answers its health check (over plain HTTP: it takes no WebSocket) and nothing else.
    const health = (await fetch(`${worker.url}/trpc/health`).then((r) => r.json())) as {
      result: { data: { json: { role: string } } };
    };
    expect(health.result.data.json.role).toBe('worker');
    const elsewhere = await fetch(`${worker.url}/trpc/runs.list`);
    expect(elsewhere.status).toBe(404);

    const done = await waitFor(async () => {
      const r = await client.runs.get.query({ id: run.id });
      return r.status === 'completed' && r;
    });
    expect([done.completedItems, done.failedItems]).toEqual([n, 0]);
    await expectEachItemOnce(client, fake, run.id, n);
  });

  it('a subscriber on the api process gets every event of a run a worker executes, once, in order, across a reconnect', async () => {
    const db = await tempDatabase('postgresql');
    cleanups.push(() => db.drop());
    // About 4 s of calls: the first events must arrive while it goes on, not from the log after.
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 100 } });
    cleanups.push(() => fake.close());
    const first = await startProcess(cleanups, db.url, { ...LEASE, BATCHLIGHT_ROLE: 'api' });
    const m = await fakeModel(first.client, fake.url, 'relay-model');
    const n = 60;
    const set = await promptSet(first.client, n);
    const run = await first.client.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 4,
      delayMs: 0,
    });

    // Subscribed before any event exists; the worker starts after. The run list's feed follows too.
    const feed: string[] = [];
    const feedSub = first.client.runs.feed.subscribe(undefined, {
      onData: (m) => {
        if (m.runId === run.id) feed.push(m.status);
      },
    });
    cleanups.push(() => feedSub.unsubscribe());
    const head = collectEvents(first.client, run.id, { stopAfter: 20, timeoutMs: 60_000 });
    const worker = await serverProcess(db.url, { ...LEASE, BATCHLIGHT_ROLE: 'worker' });
    cleanups.push(() => worker.stop('SIGKILL'));
    const before = await head;
    expect((await first.client.runs.get.query({ id: run.id })).status).toBe('running'); // live, not replayed
    await waitFor(async () => feed.includes('running'));
    feedSub.unsubscribe();
    first.close(); // the socket is gone: a new one goes on from the last event id
    const second = makeClient(first.proc.url);
    cleanups.push(second.close);
    const after = await collectEvents(second.client, run.id, {
      lastEventId: String(before.at(-1)!.seq),
      timeoutMs: 60_000,
    });
    const got = [...before, ...after];
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    expect(got.at(-1)!.type).toBe('run.finished');
    expect(got.filter((e) => e.type === 'item.completed')).toHaveLength(n);
    // Exactly the log, as a replay from the start reads it.
    const log = await collectEvents(second.client, run.id, { timeoutMs: 60_000 });
    expect(got.map((e) => [e.seq, e.type])).toEqual(log.map((e) => [e.seq, e.type]));
    await expectEachItemOnce(second.client, fake, run.id, n);
  });

  it('a cancel sent to the api process stops the run its worker executes', async () => {
    const db = await tempDatabase('postgresql');
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 5 } });
    cleanups.push(() => fake.close());
    const [{ client }, worker] = await Promise.all([
      startProcess(cleanups, db.url, { ...LEASE, BATCHLIGHT_ROLE: 'api' }),
      serverProcess(db.url, { ...LEASE, BATCHLIGHT_ROLE: 'worker' }),
    ]);
    cleanups.push(() => worker.stop('SIGKILL'));
    // Every call is held at the fake until the run is cancelled.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    fake.setBehavior({ latencyMs: 5, gate: () => held });
    const m = await fakeModel(client, fake.url, 'cancel-model');
    const n = 40;
    const set = await promptSet(client, n);
    const run = await client.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 4, delayMs: 0 });
    await waitFor(async () => fake.inFlight() === 4);
    const cancelled = await client.runs.cancel.mutate({ id: run.id });
    release();
    expect(cancelled.status).toBe('cancelled');
    expect([cancelled.completedItems, cancelled.cancelledItems]).toEqual([0, n]);
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.requests).toHaveLength(4); // nothing sent after the cancel
  });
});
