// What one call's end does to its item, as a table: every (outcome, stop) pair the engine meets,
// the item's new status, the counters, the events, the trace's status, and whether it goes on.
import type { CallFailure, CallOutcome, CallResult, ErrorType, ResolvedModel } from '@batchlight/llm';
import { describe, expect, it } from 'vitest';
import { type CallEnd, type ItemState, type StopReason, transition, UNSENT } from '../src/run/transition.js';

const model: ResolvedModel = {
  modelId: 'model-a',
  name: 'Model A',
  revision: 3,
  provider: 'openai',
  providerModel: 'gpt-test',
  baseUrl: null,
  params: {},
  pricing: {},
  credential: { kind: 'none' },
};

const item: ItemState = {
  runId: 'run-1',
  id: 'item-1',
  promptIndex: 7,
  repeatIndex: 1,
  model,
  conversationId: 'conv-1',
  messages: [{ role: 'user', content: 'Prompt number 7' }],
  maxRetries: 2,
  answered: 0,
  firstStartedAt: null,
};

const startedAt = new Date('2026-11-30T04:00:00.000Z');
const endedAt = new Date('2026-11-30T04:00:01.000Z');
const timing = { startedAt, firstTokenAt: null, endedAt, latencyMs: 1000, ttftMs: null };

const ok: CallResult = {
  ...timing,
  ok: true,
  model,
  output: 'the answer',
  requestedModel: 'gpt-test',
  responseModel: 'gpt-test',
  servedBy: null,
  attribution: 'match',
  usage: { inputTokens: 10, outputTokens: 4, cachedInputTokens: null, reasoningTokens: null, raw: null },
  cost: { usd: 0.25, source: 'pricing' },
  finishReason: 'stop',
  outputTruncated: false,
  outputChars: 10,
};

const failure = (type: ErrorType, retryAfterMs: number | null = null): CallFailure => ({
  ...timing,
  ok: false,
  model,
  requestedModel: 'gpt-test',
  error: { type, message: `${type} happened`, httpStatus: type === 'server_error' ? 503 : null, retryAfterMs },
});

interface Row {
  name: string;
  outcome: CallEnd;
  stop: StopReason | null;
  attempt?: number;
  answered?: number;
  itemStatus: string | null;
  traceStatus: string | null;
  counters: Record<string, number> | null;
  events: string[];
  retry: boolean;
  messages: number;
}

const table: Row[] = [
  {
    name: 'answered',
    outcome: ok,
    stop: null,
    itemStatus: 'completed',
    traceStatus: 'ok',
    counters: { completedItems: 1, inputTokens: 10, outputTokens: 4, costUsd: 0.25 },
    events: ['item.completed'],
    retry: false,
    messages: 2,
  },
  {
    name: 'answered while the run is being cancelled (the answer counts)',
    outcome: ok,
    stop: 'cancel',
    itemStatus: 'completed',
    traceStatus: 'ok',
    counters: { completedItems: 1, inputTokens: 10, outputTokens: 4, costUsd: 0.25 },
    events: ['item.completed'],
    retry: false,
    messages: 2,
  },
  {
    name: 'a retryable error within the budget',
    outcome: failure('server_error'),
    stop: null,
    itemStatus: null,
    traceStatus: 'error',
    counters: { retries: 1 },
    events: ['item.retrying'],
    retry: true,
    messages: 0,
  },
  {
    name: 'a retryable error past the budget',
    outcome: failure('server_error'),
    stop: null,
    attempt: 3,
    answered: 2,
    itemStatus: 'failed',
    traceStatus: 'error',
    counters: { failedItems: 1 },
    events: ['item.failed'],
    retry: false,
    messages: 0,
  },
  {
    name: 'an error never retried',
    outcome: failure('auth'),
    stop: null,
    itemStatus: 'failed',
    traceStatus: 'error',
    counters: { failedItems: 1 },
    events: ['item.failed'],
    retry: false,
    messages: 0,
  },
  {
    name: 'an error of its own while the run stops (a failure like any other)',
    outcome: failure('auth'),
    stop: 'cancel',
    itemStatus: 'failed',
    traceStatus: 'error',
    counters: { failedItems: 1 },
    events: ['item.failed'],
    retry: false,
    messages: 0,
  },
  {
    name: 'cut off by a cancel',
    outcome: failure('aborted'),
    stop: 'cancel',
    itemStatus: 'cancelled',
    traceStatus: 'cancelled',
    counters: { cancelledItems: 1 },
    events: ['item.failed'],
    retry: false,
    messages: 0,
  },
  {
    name: 'cut off by a shutdown (stays pending, trace interrupted)',
    outcome: failure('aborted'),
    stop: 'shutdown',
    itemStatus: null,
    traceStatus: 'interrupted',
    counters: null,
    events: [],
    retry: false,
    messages: 0,
  },
  {
    name: 'never sent, run cancelled',
    outcome: UNSENT,
    stop: 'cancel',
    itemStatus: 'cancelled',
    traceStatus: null,
    counters: { cancelledItems: 1 },
    events: [],
    retry: false,
    messages: 0,
  },
  {
    name: 'never sent, shutting down (stays pending)',
    outcome: UNSENT,
    stop: 'shutdown',
    itemStatus: null,
    traceStatus: null,
    counters: null,
    events: [],
    retry: false,
    messages: 0,
  },
];

describe('transition', () => {
  it.each(table)('$name', (row) => {
    const attempt = row.attempt ?? 1;
    const step = transition({ ...item, answered: row.answered ?? 0 }, row.outcome, attempt, row.stop);
    expect(step.itemUpdate?.status ?? null).toBe(row.itemStatus);
    expect(step.trace?.status ?? null).toBe(row.traceStatus);
    expect(step.counters).toEqual(row.counters);
    expect(step.events.map((e) => e.type)).toEqual(row.events);
    expect(step.retryInMs !== null).toBe(row.retry);
    expect(step.messages).toHaveLength(row.messages);
    if (step.itemUpdate) expect(step.itemUpdate.attempts).toBe(attempt);
    if (step.trace) {
      // One frozen model for every record of the call.
      expect([step.trace.modelId, step.trace.attempt, step.trace.itemId]).toEqual(['model-a', attempt, 'item-1']);
      expect(step.itemUpdate?.finalTraceId ?? step.trace.id).toBe(step.trace.id);
    }
    for (const e of step.events) expect(e.payload).toMatchObject({ itemId: 'item-1', modelId: 'model-a', attempt });
  });

  it('counts only answered attempts against the retry budget, and waits at least what Retry-After asks', () => {
    const first = transition(item, failure('rate_limited', 4_000), 1, null);
    expect(first.item.answered).toBe(1);
    expect(first.retryInMs).toBeGreaterThanOrEqual(4_000);
    const events = first.events[0]!;
    expect(events.type === 'item.retrying' && events.payload.waitMs).toBe(first.retryInMs);
    // A shutdown's cut-off call is not an answer: the budget is where it was.
    expect(transition(first.item, failure('aborted'), 2, 'shutdown').item.answered).toBe(1);
  });

  it('keeps when the item first started across its attempts', () => {
    const first = transition(item, failure('server_error'), 1, null);
    expect(first.item.firstStartedAt).toEqual(startedAt);
    const later: CallOutcome = { ...ok, startedAt: endedAt };
    const done = transition(first.item, later, 2, null);
    expect(done.itemUpdate).toMatchObject({ status: 'completed', attempts: 2, startedAt, endedAt });
  });

  it('a cancelled wait before a retry cancels the item with the attempts made and no trace', () => {
    const waiting = transition(item, failure('timeout'), 1, null).item;
    const step = transition(waiting, UNSENT, 1, 'cancel');
    expect(step.itemUpdate).toMatchObject({ status: 'cancelled', attempts: 1, finalTraceId: null, startedAt });
    expect(step.trace).toBeNull();
  });
});
