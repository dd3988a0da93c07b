// One execution per run, whatever the interleaving: 20 runs.resume calls at once on a cancelled
// run, and a resume racing start-up recovery, call every item exactly once at the fake.

import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allItems, type Client, fakeModel, promptSet, startTestServer, type TestServer, waitFor } from './helpers.js';

const N = 30;

/** How many times the fake was asked each prompt of the set. */
function callsPerPrompt(fake: FakeServer): number[] {
  const counts = new Array<number>(N).fill(0);
  for (const r of fake.requests) counts[Number(/^Prompt number (\d+):/.exec(r.body.preview)![1])]!++;
  return counts;
}

const settled = (c: Client, id: string) =>
  waitFor(async () => {
    const r = await c.runs.get.query({ id });
    return !r.executing && r;
  });

describe.each(PROVIDERS_UNDER_TEST)('one execution per run on %s', (provider) => {
  let t: TestServer;
  let fake: FakeServer;
  beforeAll(async () => {
    // A heartbeat ten times a second: renewals often meet an execution's end (see the last test).
    const env = { BATCHLIGHT_HEARTBEAT_MS: '100', BATCHLIGHT_LEASE_MS: '1000' };
    [t, fake] = await Promise.all([startTestServer(provider, { env }), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });

  it('runs each item of a cancelled run once under 20 concurrent resumes', async () => {
    const c = t.client;
    // Every call is held at the fake until the run is cancelled: no item completes before.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    fake.setBehavior({ latencyMs: 1, gate: () => held });
    const m = await fakeModel(c, fake.url, `once-${provider}`);
    const set = await promptSet(c, N, `once-${provider}`);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 4, delayMs: 0 });
    await waitFor(async () => fake.inFlight() === 4);
    await c.runs.cancel.mutate({ id: run.id });
    release();
    await settled(c, run.id);
    expect((await c.runs.get.query({ id: run.id })).cancelledItems).toBe(N);

    fake.reset();
    fake.setBehavior({ latencyMs: 5 });
    const resumed = await Promise.all(Array.from({ length: 20 }, () => c.runs.resume.mutate({ id: run.id })));
    expect(resumed.every((r) => r.id === run.id)).toBe(true);
    const done = await settled(c, run.id);
    expect([done.status, done.completedItems, done.failedItems, done.cancelledItems]).toEqual(['completed', N, 0, 0]);
    expect(callsPerPrompt(fake)).toEqual(new Array(N).fill(1));
    expect((await allItems(c, run.id)).every((i) => i.status === 'completed')).toBe(true);

    // As a crash leaves it (running, items pending): start-up recovery and resumes race.
    const prisma = t.server.engine.db.prisma;
    await prisma.runItem.updateMany({ where: { runId: run.id }, data: { status: 'pending', finalTraceId: null } });
    await prisma.run.update({
      where: { id: run.id },
      data: { status: 'running', completedItems: 0, finishedAt: null },
    });
    fake.reset();
    await Promise.all([
      t.server.engine.recover(),
      ...Array.from({ length: 10 }, () => c.runs.resume.mutate({ id: run.id })),
    ]);
    const again = await settled(c, run.id);
    expect([again.status, again.completedItems]).toEqual(['completed', N]);
    expect(callsPerPrompt(fake)).toEqual(new Array(N).fill(1));
  });

  it('ends each execution once when resumes keep arriving through its end', async () => {
    const c = t.client;
    fake.reset();
    fake.setBehavior({ latencyMs: 3 });
    const m = await fakeModel(c, fake.url, `through-end-${provider}`);
    const set = await promptSet(c, N, `through-end-${provider}`);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 4, delayMs: 0 });
    await settled(c, run.id);
    const prisma = t.server.engine.db.prisma;
    const finishes = () => prisma.runEvent.count({ where: { runId: run.id, type: 'run.finished' } });
    for (let round = 1; round <= 8; round++) {
      // As a crash leaves it; then resumes every few milliseconds until well after its end: each
      // finds it executing (nothing to do) or completed (refused), and none starts it again.
      await prisma.runItem.updateMany({ where: { runId: run.id }, data: { status: 'pending', finalTraceId: null } });
      await prisma.run.update({
        where: { id: run.id },
        data: { status: 'running', completedItems: 0, finishedAt: null, executorId: null, leaseUntil: null },
      });
      fake.reset();
      const before = await finishes();
      await t.server.engine.recover();
      const refused: string[] = [];
      for (let i = 0; i < 60; i++) {
        await c.runs.resume.mutate({ id: run.id }).catch((err: Error) => refused.push(err.message));
        await new Promise((r) => setTimeout(r, 3));
      }
      const done = await settled(c, run.id);
      expect([round, done.status, done.completedItems]).toEqual([round, 'completed', N]);
      expect(await finishes()).toBe(before + 1);
      expect(callsPerPrompt(fake)).toEqual(new Array(N).fill(1));
      expect(refused.every((m) => m.includes('already completed'))).toBe(true);
    }
  });
});
