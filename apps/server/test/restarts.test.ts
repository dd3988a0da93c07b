// A run through many restarts of the real server process at seeded random moments: SIGKILL (a
// crash) with a provider that now and then answers 429, and SIGTERM (a deploy). Seeded, so a
// failure replays; bounded: each takes 20-30 s here (a restart is about a second), more on a
// loaded machine. BATCHLIGHT_TEST_SIGTERMS=20 measures the deploy figure over 20 SIGTERMs.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEventMessage } from '@batchlight/api';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { mulberry32 } from '@batchlight/llm';
import { type BehaviorSpec, type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { describe, expect, it } from 'vitest';
import {
  allItems,
  allTraces,
  cleanupsAfterAll,
  collectEvents,
  fakeModel,
  makeClient,
  promptSet,
  requestsByPrompt,
  serverProcess,
  waitFor,
} from './helpers.js';

/** A number in [0, 1) drawn from a string: the fake's answer to a given request is seeded too. */
const draw = (key: string) =>
  mulberry32([...key].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0, 0x811c9dc5))();

/**
 * Starts a run on a fresh server, then `signal`s the server `times` times, each at a seeded
 * random moment 20-320 ms after its calls reach the provider again (a fresh process sends its
 * first ones a few hundred ms after it is up), starting it again each time; the last start runs
 * the run to its end. Returns the run, the events of its whole log and how many signals came
 * while it was executing.
 */
async function runThroughRestarts(
  db: TempDatabase,
  fake: FakeServer,
  opts: {
    signal: 'SIGKILL' | 'SIGTERM';
    times: number;
    seed: number;
    prompts: number;
    concurrency: number;
    maxRetries: number;
  },
) {
  const random = mulberry32(opts.seed);
  let server = await serverProcess(db.url);
  let api = makeClient(server.url);
  const model = await fakeModel(api.client, fake.url, 'restart-model');
  const set = await promptSet(api.client, opts.prompts);
  const run = await api.client.runs.create.mutate({
    promptSetId: set.id,
    modelIds: [model.id],
    concurrency: opts.concurrency,
    delayMs: 0,
    maxRetries: opts.maxRetries,
  });
  let midRun = 0;
  for (let k = 0; k < opts.times; k++) {
    const sent = fake.total();
    await waitFor(async () => fake.total() > sent, 30_000, 5);
    await sleep(20 + random() * 300);
    const now = await api.client.runs.get.query({ id: run.id });
    if (now.executing) midRun++;
    api.close();
    await server.stop(opts.signal);
    server = await serverProcess(db.url);
    api = makeClient(server.url);
  }
  const events = await collectEvents(api.client, run.id, { timeoutMs: 60_000 });
  const final = await api.client.runs.get.query({ id: run.id });
  const items = await allItems(api.client, run.id);
  const traces = await allTraces(api.client, run.id);
  api.close();
  await server.stop();
  return { run: final, events, items, traces, midRun };
}

/** Per item: one completion event at most, and exactly one for a completed item. */
function completionsPerItem(events: RunEventMessage[]) {
  const n = new Map<string, number>();
  for (const e of events) if (e.type === 'item.completed') n.set(e.payload.itemId, (n.get(e.payload.itemId) ?? 0) + 1);
  return n;
}

/** More work than 10 restarts' moments leave time for, even on a fast machine: the kills land mid-run. */
const PROMPTS = 240;

describe.each(PROVIDERS_UNDER_TEST)('SIGKILL at 10 seeded random moments on %s', (provider) => {
  const cleanups = cleanupsAfterAll();

  it('loses no item, completes none twice, and honours every retry budget (a provider that 429s)', async () => {
    const db = await tempDatabase(provider);
    cleanups.push(() => db.drop());
    // Each request: 20-80 ms, and a 429 (Retry-After 100 ms) for about one in four, seeded by
    // the prompt and how many times it was sent.
    const sentTimes = new Map<string, number>();
    const behavior: BehaviorSpec = (req) => {
      const prompt = req.messages[0]!.content;
      const n = (sentTimes.get(prompt) ?? 0) + 1;
      sentTimes.set(prompt, n);
      const r = draw(`${prompt}|${n}`);
      return {
        latencyMs: 20 + 60 * draw(`${prompt}|${n}|latency`),
        ...(r < 0.25 ? { fault: { kind: '429', retryAfterMs: 100 } } : {}),
      };
    };
    const fake = await startFakeOpenAI({ behavior });
    cleanups.push(() => fake.close());
    const maxRetries = 2;
    const { run, events, items, traces, midRun } = await runThroughRestarts(db, fake, {
      signal: 'SIGKILL',
      times: 10,
      seed: provider === 'sqlite' ? 14 : 41,
      prompts: PROMPTS,
      concurrency: 8,
      maxRetries,
    });
    expect(midRun).toBeGreaterThanOrEqual(8); // the kills landed while the run was executing

    // No item lost: every one completed or failed, none left pending or cancelled.
    expect(run.status).toBe('completed');
    expect(run.completedItems + run.failedItems).toBe(PROMPTS);
    expect(items.filter((i) => i.status !== 'completed' && i.status !== 'failed')).toEqual([]);
    // No completion twice: one ok trace and one item.completed per completed item, none otherwise.
    const completions = completionsPerItem(events);
    for (const item of items) {
      const mine = traces.filter((tr) => tr.itemId === item.id);
      const ok = mine.filter((tr) => tr.status === 'ok');
      expect(ok.length, `item ${item.promptIndex}`).toBe(item.status === 'completed' ? 1 : 0);
      expect(completions.get(item.id) ?? 0, `item ${item.promptIndex}`).toBe(ok.length);
      if (ok.length) expect(item.finalTraceId).toBe(ok[0]!.id);
      // The budget: answered attempts at most maxRetries + 1; a failed item used all of it, on
      // errors worth retrying. Calls the kills cut off count for none of it.
      const answered = mine.filter((tr) => tr.status === 'ok' || tr.status === 'error');
      expect(answered.length, `item ${item.promptIndex}`).toBeLessThanOrEqual(maxRetries + 1);
      if (item.status === 'failed') {
        expect(
          answered.map((tr) => tr.errorType),
          `item ${item.promptIndex}`,
        ).toEqual(Array(maxRetries + 1).fill('rate_limited'));
      }
      expect(mine.map((tr) => tr.attempt).sort((x, y) => x - y)).toEqual(mine.map((_, k) => k + 1));
    }
    // What the provider was sent, per prompt: no more than the attempts on record.
    for (const [preview, reqs] of requestsByPrompt(fake)) {
      const item = items.find((i) => preview.startsWith(`Prompt number ${i.promptIndex}:`))!;
      expect(reqs.length, preview).toBeLessThanOrEqual(traces.filter((tr) => tr.itemId === item.id).length);
    }
    const interrupted = traces.filter((tr) => tr.status === 'interrupted').length;
    console.log(
      `[restarts] ${provider} SIGKILL ×10 (${midRun} mid-run): ${PROMPTS} prompts, ${run.completedItems} completed, ` +
        `${run.failedItems} failed (budget used up on 429s), ${interrupted} calls cut off, ` +
        `${fake.total()} calls sent ` +
        `(${(fake.total() / PROMPTS).toFixed(2)} per prompt)`,
    );
  }, 180_000);
});

const SIGTERMS = Number(process.env.BATCHLIGHT_TEST_SIGTERMS ?? 8);

describe(`SIGTERM at ${SIGTERMS} seeded random moments`, () => {
  const cleanups = cleanupsAfterAll();

  it('sends each prompt to the provider once: calls sent per prompt = 1.00', async () => {
    const db = await tempDatabase('sqlite');
    cleanups.push(() => db.drop());
    const fake = await startFakeOpenAI({
      behavior: (req) => ({ latencyMs: 20 + 60 * draw(req.messages[0]!.content) }),
    });
    cleanups.push(() => fake.close());
    const prompts = 40 * SIGTERMS; // more than the signals' moments leave time for, on a fast machine
    const { run, traces, midRun } = await runThroughRestarts(db, fake, {
      signal: 'SIGTERM',
      times: SIGTERMS,
      seed: 20,
      prompts,
      concurrency: 4,
      maxRetries: 3,
    });
    expect(midRun).toBe(SIGTERMS);
    expect([run.status, run.completedItems, run.failedItems]).toEqual(['completed', prompts, 0]);
    const sent = requestsByPrompt(fake);
    expect(sent.size).toBe(prompts);
    const perPrompt = [...sent.values()].map((r) => r.length);
    expect(perPrompt.filter((n) => n !== 1)).toEqual([]);
    expect(fake.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(traces.filter((tr) => tr.status === 'ok')).toHaveLength(prompts);
    const neverLetGo = traces.filter((tr) => tr.status === 'interrupted').length;
    console.log(
      `[restarts] SIGTERM ×${SIGTERMS} (${midRun} mid-run): ${prompts} prompts, ${fake.total()} calls sent ` +
        `(${(fake.total() / prompts).toFixed(2)} per prompt), ${neverLetGo} started calls never let go`,
    );
  }, 180_000);
});
