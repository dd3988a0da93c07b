// The fault classes a provider can throw at a run, on the OpenAI wire and the Hugging Face wire
// (the testkit fakes, the real SDKs, the real server). Each row is a model of one run whose
// provider misbehaves in one way; the table says what each attempt's trace records, whether the
// item was retried, and how it ended.

import { DEFAULT_LLM_LIMITS, type ErrorType } from '@batchlight/llm';
import { type Behavior, type FakeServer, fakeAnswer, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allItems,
  allTraces,
  collectEvents,
  fakeModel,
  promptSet,
  startTestServer,
  type TestServer,
} from './helpers.js';

const MAX_RETRIES = 2;
// Long enough that no healthy call reaches it on a loaded 2-core machine (46 models answer in one
// run; at 3 s a 429's retry on the Hugging Face wire once timed out under a CPU hog and four test
// suites): only the hang class should.
const TIMEOUT_MS = 10_000;
const HUGE_WORDS = 800_000; // about 5 MB of answer
type Outcome = ErrorType | 'ok';

interface Row {
  name: string;
  behavior: Behavior;
  stream?: boolean;
  /** Each attempt's outcome, in order: more than one means the item was retried. */
  attempts: Outcome[];
  final: 'completed' | 'failed';
}

export const FAULT_CLASSES: Row[] = [
  {
    name: '429 with Retry-After: 1',
    behavior: { fault: { kind: '429', retryAfterSeconds: 1 }, times: 1 },
    attempts: ['rate_limited', 'ok'],
    final: 'completed',
  },
  {
    name: '429 every time (budget used up)',
    behavior: { fault: { kind: '429', retryAfterMs: 50 } },
    attempts: ['rate_limited', 'rate_limited', 'rate_limited'],
    final: 'failed',
  },
  { name: '500', behavior: { fault: '500', times: 1 }, attempts: ['server_error', 'ok'], final: 'completed' },
  { name: '502', behavior: { fault: { kind: '502' }, times: 1 }, attempts: ['server_error', 'ok'], final: 'completed' },
  { name: '503', behavior: { fault: '503', times: 1 }, attempts: ['server_error', 'ok'], final: 'completed' },
  { name: '504', behavior: { fault: { kind: '504' }, times: 1 }, attempts: ['server_error', 'ok'], final: 'completed' },
  { name: '408', behavior: { fault: { kind: '408' }, times: 1 }, attempts: ['timeout', 'ok'], final: 'completed' },
  { name: '400', behavior: { fault: '400' }, attempts: ['bad_request'], final: 'failed' },
  { name: '401', behavior: { fault: '401' }, attempts: ['auth'], final: 'failed' },
  { name: '403', behavior: { fault: { kind: '403' } }, attempts: ['auth'], final: 'failed' },
  { name: '404', behavior: { fault: { kind: '404' } }, attempts: ['bad_request'], final: 'failed' },
  { name: '422', behavior: { fault: { kind: '422' } }, attempts: ['bad_request'], final: 'failed' },
  {
    name: 'hang beyond the timeout',
    behavior: { fault: 'hang', times: 1 },
    attempts: ['timeout', 'ok'],
    final: 'completed',
  },
  {
    name: 'slow, within the timeout',
    behavior: { fault: { kind: 'slow', ms: 300 } },
    attempts: ['ok'],
    final: 'completed',
  },
  {
    name: 'connection reset',
    behavior: { fault: 'reset', times: 1 },
    attempts: ['connection', 'ok'],
    final: 'completed',
  },
  {
    name: 'stream cut off by a reset after its first chunk',
    behavior: { fault: 'cut', times: 1 },
    attempts: ['connection', 'ok'],
    final: 'completed',
  },
  {
    name: 'stream ends after half the answer',
    behavior: { fault: { kind: 'truncate', after: 'half' }, times: 1 },
    attempts: ['truncated', 'ok'],
    final: 'completed',
  },
  {
    name: 'stream ends before its finish chunk',
    behavior: { fault: { kind: 'truncate', after: 'content' }, times: 1 },
    attempts: ['truncated', 'ok'],
    final: 'completed',
  },
  {
    name: 'stream ends after finish, no usage, no [DONE]',
    behavior: { fault: { kind: 'truncate', after: 'finish' } },
    attempts: ['ok'],
    final: 'completed',
  },
  {
    name: 'malformed JSON (stream)',
    behavior: { fault: 'malformed' },
    attempts: ['invalid_response'],
    final: 'failed',
  },
  {
    name: 'malformed JSON (no stream)',
    behavior: { fault: 'malformed' },
    stream: false,
    attempts: ['invalid_response'],
    final: 'failed',
  },
  {
    name: 'body cut in half (no stream)',
    behavior: { fault: { kind: 'truncate', after: 'half' } },
    stream: false,
    attempts: ['invalid_response'],
    final: 'failed',
  },
  {
    name: 'huge answer (5 MB)',
    behavior: { outputTokens: HUGE_WORDS },
    stream: false,
    attempts: ['ok'],
    final: 'completed',
  },
];

const WIRES = ['openai', 'huggingface'] as const;

describe('fault classes on the OpenAI and Hugging Face wires', () => {
  let t: TestServer;
  const fakes = {} as Record<(typeof WIRES)[number], FakeServer>;
  beforeAll(async () => {
    [t, fakes.openai, fakes.huggingface] = await Promise.all([
      startTestServer('sqlite'),
      startFakeOpenAI(),
      startFakeHuggingFace(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fakes.openai?.close(), fakes.huggingface?.close()]);
  });

  it(`records, retries (up to ${MAX_RETRIES} times) and ends each item as its class says`, async () => {
    const c = t.client;
    // One model per (wire, row); the fake tells them apart by the model requested.
    const rowOf = (model: string) => FAULT_CLASSES[Number(model.split('-').at(-1))]!;
    for (const wire of WIRES) fakes[wire].setBehavior((req) => ({ latencyMs: 5, ...rowOf(req.model).behavior }));
    const models = [];
    for (const wire of WIRES) {
      for (const [i, row] of FAULT_CLASSES.entries()) {
        const m = await fakeModel(c, fakes[wire].url, `${wire === 'openai' ? '' : 'org/'}fault-${wire}-${i}`, {
          provider: wire,
          stream: row.stream ?? true,
        });
        models.push({ wire, row, model: m });
      }
    }
    const set = await promptSet(c, 1);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.model.id),
      concurrency: 16,
      delayMs: 0,
      maxRetries: MAX_RETRIES,
      timeoutMs: TIMEOUT_MS,
    });
    const events = await collectEvents(c, run.id, { timeoutMs: 50_000 });
    const traces = await allTraces(c, run.id);
    const items = await allItems(c, run.id);

    for (const { wire, row, model } of models) {
      const label = `${wire}: ${row.name}`;
      const mine = traces.filter((tr) => tr.modelId === model.id).sort((a, b) => a.attempt - b.attempt);
      expect(
        mine.map((tr) => (tr.status === 'ok' ? 'ok' : tr.errorType)),
        label,
      ).toEqual(row.attempts);
      expect(items.find((i) => i.modelId === model.id)!.status, label).toBe(row.final);
      // Every attempt reached the provider, under the model the run snapshotted.
      const seen = fakes[wire].requests.filter((r) => r.model === model.providerModel);
      expect(seen.length, label).toBe(row.attempts.length);
      for (const tr of mine)
        expect([tr.requestedModel, tr.status === 'ok' ? tr.responseModel : tr.requestedModel], label).toEqual([
          model.providerModel,
          model.providerModel,
        ]);
      // A failure names its error; no failed trace carries the key.
      for (const tr of mine.filter((x) => x.status === 'error'))
        expect(tr.errorMessage ?? '', label).not.toContain('sk-fake-test-key');
    }

    // The 429 was retried no sooner than its Retry-After (the engine's wait, and on the clock).
    const limited = models.filter((m) => m.row.name.startsWith('429 with'));
    for (const { model, wire } of limited) {
      const retry = events.find((e) => e.type === 'item.retrying' && e.payload.modelId === model.id);
      expect(retry?.type === 'item.retrying' && retry.payload.waitMs, wire).toBeGreaterThanOrEqual(1_000);
      const [first, second] = traces.filter((tr) => tr.modelId === model.id).sort((a, b) => a.attempt - b.attempt);
      // On the engine's clock, with room for a timer that fires as early as the loop's turn was old.
      expect(new Date(second!.startedAt).getTime() - new Date(first!.endedAt!).getTime(), wire).toBeGreaterThanOrEqual(
        900,
      );
    }
    // The hang was cut at the timeout: an error naming it, not a hang of the run.
    for (const { model, wire } of models.filter((m) => m.row.name.startsWith('hang'))) {
      const cut = traces.find((tr) => tr.modelId === model.id && tr.attempt === 1)!;
      expect(cut.errorMessage, wire).toMatch(new RegExp(`timed out after ${TIMEOUT_MS} ms`));
    }
    // The 5 MB answer arrives whole and is stored up to the output limit, flagged, with its full size.
    for (const { model, wire } of models.filter((m) => m.row.name.startsWith('huge'))) {
      const tr = traces.find((x) => x.modelId === model.id)!;
      const full = await c.traces.get.query({ id: tr.id });
      const answer = fakeAnswer([{ role: 'user', content: 'Prompt number 0: say something short.' }], HUGE_WORDS);
      expect(answer.length).toBeGreaterThan(5_000_000);
      expect(full.status, wire).toBe('ok');
      expect(full.outputChars, wire).toBe(answer.length);
      expect(full.outputTruncated, wire).toBe(true);
      expect(full.output, wire).toBe(answer.slice(0, DEFAULT_LLM_LIMITS.outputChars));
    }
    const got = await c.runs.get.query({ id: run.id });
    const failed = FAULT_CLASSES.filter((r) => r.final === 'failed').length * WIRES.length;
    expect([got.status, got.completedItems, got.failedItems]).toEqual(['completed', models.length - failed, failed]);
  });
});
