// The live view of a run as a monitor gets it: a snapshot tagged with the seq it reflects, then the
// events after that seq over a real WebSocket, exactly once; and a viewer that does not read costs
// the server a bounded queue and socket buffer, never the whole stream.
import { MAX_QUEUED, SOCKET_HIGH_WATER, type TailMessage, tailGauges } from '@batchlight/api';
import { createClient } from '@batchlight/api/client';
import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectEvents, fakeModel, promptSet, startTestServer, type TestServer, waitFor } from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('snapshot, then tail, on %s', (provider) => {
  let t: TestServer;
  let fake: FakeServer;

  beforeAll(async () => {
    [t, fake] = await Promise.all([startTestServer(provider), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });

  it('a snapshot taken mid-run plus the events after its seq hold every event once, and add up to the run', async () => {
    fake.setBehavior({ latencyMs: { p50: 3, p95: 10 } });
    const c = t.client;
    const models = [await fakeModel(c, fake.url, 'gpt-5-mini'), await fakeModel(c, fake.url, 'gpt-4o-mini')];
    const set = await promptSet(c, 300);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.id),
      concurrency: 8,
      delayMs: 0,
    });
    const snap = await waitFor(
      async () => {
        const s = await c.runs.snapshot.query({ runId: run.id });
        const done = s.models.reduce((a, m) => a + m.completed, 0);
        return done >= 60 && s.status === 'running' ? s : null;
      },
      60_000,
      20,
    );
    const tail = await collectEvents(c, run.id, { lastEventId: String(snap.seq), timeoutMs: 60_000 });

    // Every event of the log after the snapshot's seq, once, in order: nothing before it.
    const log = await t.server.engine.db.prisma.runEvent.findMany({
      where: { runId: run.id },
      orderBy: { seq: 'asc' },
      select: { seq: true, type: true, payload: true },
    });
    expect(tail.map((e) => e.seq)).toEqual(log.filter((e) => e.seq > snap.seq).map((e) => e.seq));
    expect(tail.at(-1)!.type).toBe('run.finished');

    // The snapshot is of exactly the events up to its seq.
    const completedBy = (events: typeof log, modelId: string) =>
      events.filter((e) => e.type === 'item.completed' && (e.payload as { modelId: string }).modelId === modelId)
        .length;
    const upTo = log.filter((e) => e.seq <= snap.seq);
    for (const m of snap.models) expect(m.completed).toBe(completedBy(upTo, m.modelId));
    // Snapshot + tail = the run.
    const tailCompleted = tail.filter((e) => e.type === 'item.completed').length;
    expect(snap.models.reduce((a, m) => a + m.completed, 0) + tailCompleted).toBe(600);

    const end = await c.runs.snapshot.query({ runId: run.id });
    expect(end.seq).toBe(log.at(-1)!.seq);
    expect(end.finished).toMatchObject({ status: 'completed', completed: 600 });
    // Bins, series and percentiles cover the whole run, not its last part.
    expect(end.latency.count).toBe(600);
    expect(end.latency.bins.reduce((a, b) => a + b.count, 0)).toBe(600);
    expect(end.series.points.reduce((a, p) => a + p.completed, 0)).toBe(600);
    expect(end.series.points.length).toBeLessThanOrEqual(240);
    const traces = await t.server.engine.db.prisma.trace.findMany({
      where: { runId: run.id },
      select: { latencyMs: true },
    });
    const sorted = traces.map((x) => x.latencyMs!).sort((a, b) => a - b);
    const exactP95 = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
    // Within a bin (8%) of the exact percentile.
    expect(end.latency.p95!).toBeGreaterThanOrEqual(exactP95);
    expect(end.latency.p95!).toBeLessThanOrEqual(exactP95 * 1.08 + 1e-9);
  });

  it('keeps the per-model figures true when failed items run again (resume with retryFailed)', async () => {
    const c = t.client;
    const model = await fakeModel(c, fake.url, 'gpt-5-mini');
    const set = await promptSet(c, 20);
    // Every call fails with a 400 (not retried): the run completes with 20 failed items.
    fake.setBehavior({ latencyMs: 1, fault: '400' });
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 4, delayMs: 0 });
    await collectEvents(c, run.id);
    const failed = await c.runs.snapshot.query({ runId: run.id });
    expect(failed.models[0]).toMatchObject({ completed: 0, failed: 20 });
    fake.setBehavior({ latencyMs: 1 });
    await c.runs.resume.mutate({ id: run.id, retryFailed: true });
    await collectEvents(c, run.id, { lastEventId: String(failed.seq) });
    const end = await c.runs.snapshot.query({ runId: run.id });
    expect(end.models[0]).toMatchObject({ completed: 20, failed: 0 });
    expect(end.finished).toMatchObject({ status: 'completed', completed: 20, failed: 0 });
  });

  it('a viewer without item rows gets every other event once, in order, and pages its rows as a window', async () => {
    fake.setBehavior({ latencyMs: { p50: 2, p95: 6 } });
    const c = t.client;
    const models = [await fakeModel(c, fake.url, 'gpt-5-mini'), await fakeModel(c, fake.url, 'gpt-4o-mini')];
    const set = await promptSet(c, 150);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.id),
      concurrency: 8,
      delayMs: 0,
    });
    const window = { fromPrompt: 40, toPrompt: 59 };
    const [lean, windowed, full] = await Promise.all([
      collectEvents(c, run.id, { items: false, timeoutMs: 60_000 }),
      collectEvents(c, run.id, { items: window, timeoutMs: 60_000 }),
      collectEvents(c, run.id, { timeoutMs: 60_000 }),
    ]);
    const rows = new Set(['item.started', 'item.completed', 'item.failed']);
    const promptOf = (e: (typeof full)[number]) => (e.payload as { promptIndex: number }).promptIndex;
    expect(full.filter((e) => e.type === 'item.completed')).toHaveLength(300);
    expect(lean.some((e) => rows.has(e.type))).toBe(false);
    expect(lean.map((e) => e.seq)).toEqual(full.filter((e) => !rows.has(e.type)).map((e) => e.seq));
    const inWindow = (e: (typeof full)[number]) =>
      !rows.has(e.type) || (promptOf(e) >= window.fromPrompt && promptOf(e) <= window.toPrompt);
    expect(windowed.map((e) => e.seq)).toEqual(full.filter(inWindow).map((e) => e.seq));
    expect(windowed.filter((e) => e.type === 'item.completed')).toHaveLength(40);
    expect(lean.at(-1)!.type).toBe('run.finished');
    // From the middle of the log too (a reconnect): the rest, nothing twice.
    const mid = lean[Math.floor(lean.length / 2)]!.seq;
    const rest = await collectEvents(c, run.id, { items: false, lastEventId: String(mid) });
    expect(rest.map((e) => e.seq)).toEqual(lean.filter((e) => e.seq > mid).map((e) => e.seq));

    // A window: offset and limit over the items in creation order, with the count matching the filters.
    const all = (await c.runs.items.query({ runId: run.id, limit: 1000 })).items;
    const page = await c.runs.items.query({ runId: run.id, offset: 140, limit: 20 });
    expect(page.matching).toBe(300);
    expect(page.items.map((i) => i.id)).toEqual(all.slice(140, 160).map((i) => i.id));
    const one = await c.runs.items.query({ runId: run.id, modelId: models[1]!.id, offset: 0, limit: 5 });
    expect(one.matching).toBe(150);
    expect(one.items.every((i) => i.modelId === models[1]!.id)).toBe(true);
    const none = await c.runs.items.query({ runId: run.id, mismatch: true, offset: 0, limit: 5 });
    expect(none).toMatchObject({ matching: 0, items: [] });
    expect((await c.runs.items.query({ runId: run.id, limit: 5 })).matching).toBeNull();
    await expect(c.runs.items.query({ runId: run.id, cursor: all[0]!.id, offset: 3 })).rejects.toThrow(/offset/);
  });

  it('answers NOT_FOUND naming runId for an unknown run', async () => {
    await expect(t.client.runs.snapshot.query({ runId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(
      /runId/,
    );
  });
});

describe('a viewer that does not read', () => {
  let t: TestServer;
  let fake: FakeServer;

  beforeAll(async () => {
    [t, fake] = await Promise.all([startTestServer('sqlite'), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });

  /**
   * A client whose sockets the test can pause (ws's public pause()/resume()). A paused socket
   * answers no ping, so the server drops it after its keep-alive (35 s) and the client reconnects:
   * a socket opened while paused is paused too.
   */
  function pausableClient() {
    const sockets: WebSocket[] = [];
    const state = { paused: false };
    class Tapped extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
        this.once('open', () => state.paused && this.pause());
      }
    }
    const { client, close } = createClient({ url: t.server.url, WebSocket: Tapped });
    return {
      client,
      close,
      pause: () => {
        state.paused = true;
        for (const s of sockets) s.pause();
      },
      resume: () => {
        state.paused = false;
        for (const s of sockets) s.resume();
      },
    };
  }

  it.each(['replay', 'resync'] as const)(
    'holds at most the queue bound and the socket high-water mark (%s), then catches up as told',
    async (behind) => {
      // The first calls are held, so the reader is subscribed (and paused) before the run goes fast:
      // a subscriber that arrives more than the bound behind would be told to resync at once.
      fake.setBehavior({ latencyMs: 3000, outputTokens: 60 });
      const c = t.client;
      const model = await fakeModel(c, fake.url, 'gpt-5-mini');
      // Long enough to fill the socket, the kernel's buffers and the queue: cancelled once it has.
      const set = await promptSet(c, 20_000);
      const slow = pausableClient();
      const got: TailMessage[] = [];
      let resolveEnd: () => void;
      const ended = new Promise<void>((r) => {
        resolveEnd = r;
      });
      const run = await c.runs.create.mutate({
        promptSetId: set.id,
        modelIds: [model.id],
        concurrency: 32,
        delayMs: 0,
      });
      const sub = slow.client.runs.events.subscribe(
        { runId: run.id, behind },
        {
          onData: ({ data }) => {
            got.push(data);
            if (got.length === 1) {
              slow.pause();
              fake.setBehavior({ latencyMs: 0, outputTokens: 60 });
            }
            if (data.type === 'run.finished' || data.type === 'resync') resolveEnd();
          },
          onComplete: () => resolveEnd(),
        },
      );
      let maxQueued = 0;
      let maxBuffered = 0;
      let overflows = 0;
      const sample = () => {
        for (const g of tailGauges().filter((x) => x.runId === run.id)) {
          maxQueued = Math.max(maxQueued, g.maxQueued);
          maxBuffered = Math.max(maxBuffered, g.maxBufferedBytes);
          overflows = Math.max(overflows, g.overflows);
        }
      };
      const sampler = setInterval(sample, 10);
      try {
        await waitFor(
          async () => {
            sample();
            return overflows > 0;
          },
          150_000,
          20,
        );
        await c.runs.cancel.mutate({ id: run.id });
        sample();
        // The paused reader was pushed back on (its queue was used), and held within the bounds.
        expect(maxQueued).toBeGreaterThan(0);
        expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED + 1);
        // One frame past the mark at most: a subscription checks before each event it sends.
        expect(maxBuffered).toBeLessThanOrEqual(SOCKET_HIGH_WATER + 16 * 1024);
        slow.resume();
        await ended;
      } finally {
        clearInterval(sampler);
        sub.unsubscribe();
        slow.close();
      }
      const log = await t.server.engine.db.prisma.runEvent.findMany({
        where: { runId: run.id },
        orderBy: { seq: 'asc' },
        select: { seq: true },
      });
      if (behind === 'replay') {
        // It fell behind by more than the bound and was fed from the log: still every event once.
        expect(got.map((e) => e.seq)).toEqual(log.map((e) => e.seq));
      } else {
        // Told to resync, at the last event it got; then a snapshot and the tail from its seq.
        const last = got.at(-1)!;
        expect(last.type).toBe('resync');
        const seqs = got.slice(0, -1).map((e) => e.seq);
        expect(seqs).toEqual(log.slice(0, seqs.length).map((e) => e.seq));
        expect(last.seq).toBe(seqs.at(-1));
        const snap = await c.runs.snapshot.query({ runId: run.id });
        const done = await c.runs.get.query({ id: run.id });
        expect(snap.seq).toBe(log.at(-1)!.seq);
        expect(snap.finished).toMatchObject({ status: 'cancelled', completed: done.completedItems });
      }
    },
    200_000,
  );
});
