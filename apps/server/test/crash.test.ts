// SIGKILL the real server process mid-run, start it again: the run finishes, each item completed
// exactly once, the calls cut off by the kill are closed as interrupted, and those do not count
// against an item's retry budget.

import { PROVIDERS_UNDER_TEST, tempDatabase } from '@batchlight/db/testing';
import { startFakeOpenAI } from '@batchlight/testkit';
import { describe, expect, it } from 'vitest';
import {
  allItems,
  allTraces,
  cleanupsAfterAll,
  collectEvents,
  fakeModel,
  promptSet,
  requestsByPrompt,
  startProcess,
  waitFor,
} from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('crash recovery on %s', (provider) => {
  const cleanups = cleanupsAfterAll();

  it('finishes a run after SIGKILL with every item completed exactly once', async () => {
    const db = await tempDatabase(provider);
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI({ behavior: { latencyMs: 60 } });
    cleanups.push(() => fake.close());

    const a = await startProcess(cleanups, db.url);
    const m = await fakeModel(a.client, fake.url, 'crash-model');
    const set = await promptSet(a.client, 40);
    const run = await a.client.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 4,
      delayMs: 0,
    });
    await waitFor(
      async () => (await a.client.runs.get.query({ id: run.id })).completedItems >= 12 && fake.inFlight() > 0,
    );
    a.close();
    await a.proc.stop('SIGKILL');
    const callsBefore = fake.total();

    const b = await startProcess(cleanups, db.url);
    const events = await collectEvents(b.client, run.id, { timeoutMs: 30_000 });
    expect(events.at(-1)!.type).toBe('run.finished');
    const got = await b.client.runs.get.query({ id: run.id });
    expect([got.status, got.completedItems, got.failedItems]).toEqual(['completed', 40, 0]);

    const items = await allItems(b.client, run.id);
    expect(items.every((i) => i.status === 'completed')).toBe(true);
    const traces = await allTraces(b.client, run.id);
    const ok = traces.filter((tr) => tr.status === 'ok');
    // Exactly one successful call per item, and no item that had completed was called again.
    expect(ok).toHaveLength(40);
    expect(new Set(ok.map((tr) => tr.itemId)).size).toBe(40);
    const interrupted = traces.filter((tr) => tr.status === 'interrupted');
    expect(interrupted.length).toBeGreaterThan(0);
    for (const tr of interrupted) expect(tr.requestedModel).toBe('crash-model');
    // Attempt numbers go on after the calls the kill cut off: each item's attempts are 1..n.
    for (const item of items) {
      const mine = traces
        .filter((tr) => tr.itemId === item.id)
        .map((tr) => tr.attempt)
        .sort((x, y) => x - y);
      expect(mine, `item ${item.promptIndex}`).toEqual(Array.from({ length: mine.length }, (_, k) => k + 1));
      expect(item.attempts).toBe(mine.length);
    }
    // At the fake: each prompt was sent once, plus at most once per call the kill cut off.
    const sent = requestsByPrompt(fake);
    const itemPrompt = new Map(items.map((i) => [i.id, i.promptIndex]));
    for (let i = 0; i < 40; i++) {
      const cut = interrupted.filter((tr) => itemPrompt.get(tr.itemId!) === i).length;
      const n = [...sent].find(([preview]) => preview.startsWith(`Prompt number ${i}:`))?.[1].length ?? 0;
      expect(n, `prompt ${i}`).toBeGreaterThanOrEqual(1);
      expect(n, `prompt ${i}`).toBeLessThanOrEqual(1 + cut);
    }
    expect(callsBefore).toBeLessThan(40);
    b.close();
    await b.proc.stop();
  });

  it('retries an item whose only earlier attempt was cut off by the crash (maxRetries 1, first call 429)', async () => {
    const db = await tempDatabase(provider);
    cleanups.push(() => db.drop());
    // Each prompt's first call at the fake is a 429 asking for a 1 s wait; later calls answer.
    const seen = new Set<string>();
    const fake = await startFakeOpenAI({
      behavior: (req) => {
        const prompt = req.messages[0]!.content;
        if (seen.has(prompt)) return { latencyMs: 5 };
        seen.add(prompt);
        return { latencyMs: 5, fault: { kind: '429', retryAfterSeconds: 1 } };
      },
    });
    cleanups.push(() => fake.close());

    const a = await startProcess(cleanups, db.url);
    const m = await fakeModel(a.client, fake.url, 'budget-model');
    const set = await promptSet(a.client, 40);
    // delayMs keeps most of the first calls on record (item.started committed) but not yet sent
    // when the kill comes: the provider never answered them.
    const run = await a.client.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 8,
      delayMs: 60,
      maxRetries: 1,
    });
    await collectEvents(a.client, run.id, { stopAfter: 8 + 2 }); // run.status + 8 item.started (+1)
    await a.proc.stop('SIGKILL');
    a.close();

    const b = await startProcess(cleanups, db.url);
    await collectEvents(b.client, run.id, { timeoutMs: 30_000 });
    const got = await b.client.runs.get.query({ id: run.id });
    const items = await allItems(b.client, run.id);
    const traces = await allTraces(b.client, run.id);
    const interrupted = traces.filter((tr) => tr.status === 'interrupted');
    // The scenario happened: calls were on record but cut off before the provider saw them.
    expect(interrupted.length).toBeGreaterThan(0);
    expect([got.status, got.completedItems, got.failedItems]).toEqual(['completed', 40, 0]);
    for (const item of items) {
      const mine = traces.filter((tr) => tr.itemId === item.id);
      // Trace numbers go on after the interrupted ones; only answered attempts use the budget.
      expect(mine.map((tr) => tr.attempt).sort((x, y) => x - y)).toEqual(mine.map((_, k) => k + 1));
      const answered = mine.filter((tr) => tr.status !== 'interrupted');
      expect(answered.length, `item ${item.promptIndex}`).toBeLessThanOrEqual(2);
    }
    b.close();
    await b.proc.stop();
  });
});
