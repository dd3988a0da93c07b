// SIGTERM on the real server process: it starts no new call, lets the calls in flight finish and
// commits them, then exits, so a restart (a deploy) sends none of them again. A second signal, or
// the grace running out, cuts off what is still open (closed as interrupted, sent again later).

import { type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { type FakeServer, type RunningProcess, startFakeOpenAI } from '@batchlight/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { allTraces, collectEvents, fakeModel, promptSet, requestsByPrompt, startProcess, waitFor } from './helpers.js';

/**
 * A fake that answers its first `answered` requests and holds every later one at a gate (a call
 * in flight) until released: what is done and what is held does not depend on the machine's speed.
 */
function heldFake(fake: FakeServer, answered: number) {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  let held = true;
  fake.setBehavior({ latencyMs: 10, gate: (req) => (held && req.seq > answered ? gate : Promise.resolve()) });
  return {
    release: () => {
      held = false;
      open();
    },
  };
}

const exited = (p: RunningProcess) =>
  new Promise<void>((r) =>
    p.child.exitCode !== null || p.child.signalCode !== null ? r() : p.child.once('exit', () => r()),
  );

describe('graceful shutdown', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setUp(env: NodeJS.ProcessEnv = {}) {
    const db: TempDatabase = await tempDatabase('sqlite');
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI();
    cleanups.push(() => fake.close());
    const { proc: server, ...api } = await startProcess(cleanups, db.url, env);
    const model = await fakeModel(api.client, fake.url, 'drain-model');
    const set = await promptSet(api.client, 40);
    return { db, fake, server, api, model, set };
  }
  /** Starts the server again on `db`, waits for the run to finish there, and gives a client to it. */
  async function restartAndFinish(db: TempDatabase, runId: string) {
    const b = await startProcess(cleanups, db.url);
    await collectEvents(b.client, runId);
    return { client: b.client, run: await b.client.runs.get.query({ id: runId }) };
  }

  it('SIGTERM: refuses new runs, lets calls in flight finish, commits them; a restart sends none again', async () => {
    const { db, fake, server, api, model, set } = await setUp();
    const gate = heldFake(fake, 16);
    const run = await api.client.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [model.id],
      concurrency: 8,
      delayMs: 0,
    });
    // 16 answered, and every slot holds a call the provider is answering.
    await waitFor(async () => (await api.client.runs.get.query({ id: run.id })).completedItems === 16);
    await waitFor(async () => fake.inFlight() === 8);
    const bye = server.stop('SIGTERM');
    await waitFor(async () => (await api.client.health.query()).shuttingDown);
    // While it drains it answers, but starts nothing, and says why.
    for (const attempt of [
      () => api.client.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 1, delayMs: 0 }),
      () => api.client.runs.resume.mutate({ id: run.id }),
    ]) {
      const err = (await attempt().catch((e: unknown) => e)) as { data?: { code?: string }; message: string };
      expect(err.data?.code).toBe('SERVICE_UNAVAILABLE');
      expect(err.message).toMatch(/shutting down/);
    }
    expect(fake.inFlight()).toBe(8);
    gate.release();
    await bye;
    // Every call the provider saw was answered in full and read: none was cut off.
    await waitFor(async () => fake.inFlight() === 0);
    expect(fake.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(fake.total()).toBe(24);

    const { client, run: got } = await restartAndFinish(db, run.id);
    expect([got.status, got.completedItems, got.failedItems]).toEqual(['completed', 40, 0]);
    expect((await client.runs.list.query({})).runs).toHaveLength(1); // the refused create made nothing
    // One call per prompt at the provider: nothing completed before the SIGTERM went out again.
    const sent = requestsByPrompt(fake);
    expect(sent.size).toBe(40);
    expect([...sent.values()].map((r) => r.length)).toEqual(Array(40).fill(1));
    const traces = await allTraces(client, run.id);
    expect(traces.filter((tr) => tr.status === 'ok')).toHaveLength(40);
    // Calls drained before the signal's end are ok traces; none is interrupted but calls never let go.
    expect(traces.length - 40).toBe(traces.filter((tr) => tr.status === 'interrupted').length);
  });

  it('cuts off the calls still open when the grace runs out, and at once on a second SIGTERM', async () => {
    for (const how of ['grace', 'second signal'] as const) {
      const { db, fake, server, api, model, set } = await setUp(
        how === 'grace' ? { BATCHLIGHT_SHUTDOWN_GRACE_MS: '300' } : {},
      );
      const gate = heldFake(fake, 0); // the provider answers nothing until the test lets it
      const run = await api.client.runs.create.mutate({
        promptSetId: set.id,
        modelIds: [model.id],
        concurrency: 4,
        delayMs: 0,
      });
      await waitFor(async () => fake.inFlight() === 4);
      const bye = exited(server);
      server.child.kill('SIGTERM');
      if (how === 'second signal') {
        await waitFor(async () => (await api.client.health.query()).shuttingDown);
        server.child.kill('SIGTERM');
      }
      // Default grace is 30 s; the calls are held for good: only the cut-off can end the process.
      await bye;
      await waitFor(async () => fake.inFlight() === 0);
      expect(
        fake.requests.map((r) => r.status),
        how,
      ).toEqual([0, 0, 0, 0]);
      gate.release();

      const { client, run: got } = await restartAndFinish(db, run.id);
      expect([got.status, got.completedItems, got.failedItems], how).toEqual(['completed', 40, 0]);
      const traces = await allTraces(client, run.id);
      expect(
        traces.filter((tr) => tr.status === 'interrupted'),
        how,
      ).toHaveLength(4);
      expect(fake.total(), how).toBe(44);
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  });
});

describe('BATCHLIGHT_SHUTDOWN_GRACE_MS', () => {
  it('defaults to 30 s, takes whole milliseconds, and names itself when it cannot be read', () => {
    expect(loadConfig({}).shutdownGraceMs).toBe(30_000);
    expect(loadConfig({ BATCHLIGHT_SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ BATCHLIGHT_SHUTDOWN_GRACE_MS: '1500' }).shutdownGraceMs).toBe(1500);
    for (const bad of ['soon', '-1', '1.5', '99999999']) {
      expect(() => loadConfig({ BATCHLIGHT_SHUTDOWN_GRACE_MS: bad })).toThrow(/BATCHLIGHT_SHUTDOWN_GRACE_MS/);
    }
  });
});
