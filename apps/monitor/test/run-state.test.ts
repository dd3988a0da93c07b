import type { RunEventMessage, RunSnapshot } from '@batchlight/api';
import { describe, expect, it } from 'vitest';
import type { ItemRow } from '../src/api';
import { diffWords } from '../src/diff';
import {
  applyEvents,
  applySnapshot,
  emptyState,
  keepWindow,
  modelStats,
  rowFromItem,
  shownRow,
} from '../src/run-state';

const item = (id: string, over: Partial<ItemRow> = {}): ItemRow =>
  ({
    id,
    runId: 'r',
    modelId: 'm1',
    promptIndex: Number(id.slice(1)),
    repeatIndex: 0,
    status: 'pending',
    attempts: 0,
    finalTraceId: null,
    startedAt: null,
    endedAt: null,
    trace: null,
    ...over,
  }) as ItemRow;

let seq = 0;
const ev = <T extends RunEventMessage['type']>(
  type: T,
  payload: Extract<RunEventMessage, { type: T }>['payload'],
  s = ++seq,
) => ({ runId: 'r', seq: s, type, payload, at: new Date(1_700_000_000_000 + s).toISOString() }) as RunEventMessage;
const ref = (itemId: string, attempt = 1, modelId = 'm1') => ({
  itemId,
  modelId,
  promptIndex: Number(itemId.slice(1)),
  repeatIndex: 0,
  attempt,
});
type Attr = 'match' | 'mismatch';
const done = (
  itemId: string,
  latencyMs: number,
  attempt = 1,
  attribution: Attr = 'match',
  modelId = 'm1',
  finish = 'stop',
) =>
  ev('item.completed', {
    ...ref(itemId, attempt, modelId),
    traceId: `t-${itemId}-${attempt}`,
    provider: 'openai',
    requestedModel: 'a',
    responseModel: attribution === 'match' ? 'a' : 'b',
    attribution,
    latencyMs,
    ttftMs: latencyMs / 2,
    inputTokens: 10,
    outputTokens: 20,
    costUsd: 0.001,
    finishReason: finish,
    outputPreview: 'out',
  });

describe('run state', () => {
  it('applies each event once, however often a reconnect replays it', () => {
    seq = 0;
    const s = emptyState();
    const events = [
      ev('item.started', { ...ref('i0'), startedAt: '' }),
      done('i0', 100),
      ev('item.started', { ...ref('i1'), startedAt: '' }),
    ];
    applyEvents(s, events);
    applyEvents(s, [...events, done('i1', 200)]); // the first three again, then a new one
    expect(s.lastSeq).toBe(4);
    expect([...s.rows.keys()]).toEqual(['i0', 'i1']);
    expect([...s.rows.values()].map((r) => r.status)).toEqual(['completed', 'completed']);
  });

  it('never moves a row backwards from its page when the log is replayed from the start', () => {
    seq = 0;
    const s = emptyState();
    const page = rowFromItem(item('i0', { status: 'completed', attempts: 2 }));
    applyEvents(s, [
      ev('item.started', { ...ref('i0', 1), startedAt: '' }),
      ev('item.retrying', {
        ...ref('i0', 1),
        traceId: 't',
        errorType: 'rate_limited',
        httpStatus: 429,
        message: 'slow down',
        waitMs: 500,
      }),
      ev('item.started', { ...ref('i0', 2), startedAt: '' }),
    ]);
    // The page says attempt 2 ended; the stream's attempt 2 only started: the page's row stands.
    expect(shownRow(s, page).status).toBe('completed');
    expect(s.waits[0]!.text).toMatch(/rate_limited 429 → retry in 500 ms/);
    applyEvents(s, [done('i0', 120, 2)]);
    expect(s.rows.get('i0')!).toMatchObject({ status: 'completed', latencyMs: 120, traceId: 't-i0-2' });
    // A page fetched before the stream moved on shows the stream's row, not the older one.
    const older = rowFromItem(item('i0', { status: 'pending', attempts: 1 }));
    expect(shownRow(s, older)).toMatchObject({ status: 'completed', latencyMs: 120 });
  });

  it('shows retries as they happen and adds rows it had not loaded', () => {
    seq = 0;
    const s = emptyState();
    applyEvents(s, [
      ev('item.retrying', {
        ...ref('i7'),
        traceId: 't',
        errorType: 'server_error',
        httpStatus: 503,
        message: 'x',
        waitMs: 900,
      }),
    ]);
    expect(s.rows.get('i7')).toMatchObject({ status: 'retrying', note: 'server_error 503, waiting 900 ms' });
    // The page's row (pending, no attempt ended) shows the retry.
    expect(shownRow(s, rowFromItem(item('i7')))).toMatchObject({ status: 'retrying' });
    // Out of the window, the stream's rows are forgotten.
    keepWindow(s, { fromPrompt: 0, toPrompt: 6 });
    expect(s.rows.size).toBe(0);
  });

  it('computes per-model success, percentiles, tokens, cost, mismatches and answers cut off by length', () => {
    seq = 0;
    const trace = { status: 'ok', finishReason: 'length', attribution: 'match' } as ItemRow['trace'];
    const s = emptyState();
    for (const i of [
      ...['i0', 'i1', 'i2', 'i3', 'i4'].map((id) => item(id)),
      item('i5', { status: 'completed', trace }),
    ])
      s.rows.set(i.id, rowFromItem(i));
    applyEvents(s, [
      done('i0', 100),
      done('i1', 300, 1, 'match', 'm1', 'length'),
      done('i2', 200, 1, 'mismatch'),
      ev('item.failed', {
        ...ref('i3'),
        traceId: 't',
        errorType: 'server_error',
        httpStatus: 500,
        message: 'boom',
        latencyMs: 10,
      }),
    ]);
    const st = modelStats(s).get('m1')!;
    expect(st).toMatchObject({ items: 6, completed: 4, failed: 1, successRate: 0.8, p50: 200, p95: 300 });
    expect([st.inputTokens, st.outputTokens, st.mismatches, st.lengthFinishes]).toEqual([30, 60, 1, 2]);
    expect(st.costUsd).toBeCloseTo(0.003);
  });
});

const progress = (completed: number) => ({
  completed,
  failed: 0,
  cancelled: 0,
  inFlight: 4,
  total: 1000,
  retries: 0,
  throughput: 100,
  elapsedMs: completed * 10,
  activeMs: completed * 10,
});
const hist = { count: 0, min: null, max: null, mean: null, p50: null, p90: null, p95: null, p99: null, bins: [] };
const snapshot = (seq: number, completed: number, over: Partial<RunSnapshot> = {}): RunSnapshot => ({
  runId: 'r',
  seq,
  status: 'running',
  progress: progress(completed),
  finished: null,
  models: [],
  latency: hist,
  ttft: hist,
  series: { startMs: 0, bucketMs: 250, points: [] },
  retries: [],
  ...over,
});

describe('run state from a snapshot', () => {
  it('starts from the snapshot and its seq: events up to it are not applied again', () => {
    const s = applySnapshot(emptyState(), snapshot(500, 120), { start: true });
    expect([s.firstSeq, s.lastSeq, s.progress?.completed, s.status]).toEqual([500, 500, 120, 'running']);
    applyEvents(s, [ev('run.progress', progress(80), 400), ev('run.progress', progress(130), 501)]);
    expect(s.progress?.completed).toBe(130);
    expect(s.lastSeq).toBe(501);
  });

  it('never lets a progress older than the counters replace them, whichever came first', () => {
    const s = applySnapshot(emptyState(), snapshot(100, 40), { start: true });
    applyEvents(s, [ev('run.progress', progress(50), 101)]);
    // A refresh ahead of the stream: its counters are newer.
    applySnapshot(s, snapshot(300, 90));
    expect(s.progress?.completed).toBe(90);
    // The stream catches up through progress events older than that snapshot: no step back.
    applyEvents(s, [ev('run.progress', progress(60), 150), ev('run.progress', progress(70), 200)]);
    expect(s.progress?.completed).toBe(90);
    applyEvents(s, [ev('run.progress', progress(95), 301)]);
    expect(s.progress?.completed).toBe(95);
    // An older snapshot (a slow answer) changes neither the counters nor the charts' figures.
    applySnapshot(s, snapshot(250, 80));
    expect(s.progress?.completed).toBe(95);
    expect(s.snapshot?.seq).toBe(300);
  });

  it("shows a finished run's final counters and the server's per-model figures", () => {
    const finished = {
      status: 'completed' as const,
      completed: 10,
      failed: 1,
      cancelled: 0,
      total: 11,
      durationMs: 5,
      activeMs: 5,
      costUsd: 1,
    };
    const model = {
      modelId: 'm1',
      completed: 10,
      failed: 1,
      cancelled: 0,
      retries: 2,
      inputTokens: 100,
      outputTokens: 200,
      costUsd: 1,
      mismatches: 1,
      lengthFinishes: 3,
      latency: { ...hist, count: 10, p50: 120, p95: 300 },
      ttft: { ...hist, count: 10, p50: 20, p95: 40 },
    };
    const s = applySnapshot(emptyState(), snapshot(900, 10, { status: 'completed', finished, models: [model] }), {
      start: true,
    });
    expect(s.finished).toBe(true);
    expect(s.progress).toMatchObject({ completed: 10, failed: 1, inFlight: 0 });
    expect(modelStats(s).get('m1')).toMatchObject({ completed: 10, failed: 1, p50: 120, p95: 300, ttftP95: 40 });
  });

  it('keeps a row the stream moved on when an older page of rows arrives', () => {
    seq = 0;
    const s = applySnapshot(emptyState(), snapshot(0, 0), { start: true });
    applyEvents(s, [done('i0', 100)]);
    expect(shownRow(s, rowFromItem(item('i0', { status: 'pending', attempts: 0 })))).toMatchObject({
      status: 'completed',
      latencyMs: 100,
    });
  });
});

describe('word diff', () => {
  it('marks what changed between two outputs', () => {
    expect(diffWords('the quick brown fox', 'the slow brown fox')).toEqual([
      { kind: 'same', text: 'the ' },
      { kind: 'removed', text: 'quick' },
      { kind: 'added', text: 'slow' },
      { kind: 'same', text: ' brown fox' },
    ]);
    expect(diffWords('same', 'same')).toEqual([{ kind: 'same', text: 'same' }]);
  });
});

describe('rate.limit events', () => {
  it('keep the latest state per provider key', () => {
    const state = emptyState();
    const limit = (key: string, inFlight: number, pausedUntil: string | null) =>
      ev('rate.limit', {
        modelId: 'm1',
        key,
        requestsPerMinute: 600,
        tokensPerMinute: null,
        learned: true,
        inFlight,
        waiting: 3,
        concurrency: 8,
        pausedUntil,
        waitMs: 0,
      });
    applyEvents(state, [
      limit('openai 127.0.0.1:1 #aaaaaaaa', 4, null),
      limit('openai 127.0.0.1:1 #bbbbbbbb', 1, null),
      limit('openai 127.0.0.1:1 #aaaaaaaa', 2, '2026-01-01T00:00:02.000Z'),
    ]);
    expect(state.rateLimits.size).toBe(2);
    expect(state.rateLimits.get('openai 127.0.0.1:1 #aaaaaaaa')).toMatchObject({
      inFlight: 2,
      pausedUntil: '2026-01-01T00:00:02.000Z',
      learned: true,
    });
  });
});
