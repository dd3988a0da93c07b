// The live state of one run: the server's snapshot (counters, per-model aggregates, latency bins,
// the time series, the last retries, as of event `seq`), then the events after that seq, and the
// rows of the items loaded so far. Pure functions: the run page applies a frame's worth of events
// at once, and a fresh snapshot now and then (for the charts and the per-model figures).
import type { EventPayloads, RunEventMessage, RunSnapshot } from '@batchlight/api';
import { percentile } from '@batchlight/api/stats';
import type { ItemRow } from './api';

export type RowStatus = 'pending' | 'running' | 'retrying' | 'completed' | 'failed' | 'cancelled';

export interface Row {
  id: string;
  modelId: string;
  promptIndex: number;
  repeatIndex: number;
  status: RowStatus;
  attempts: number;
  latencyMs: number | null;
  ttftMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  attribution: string | null;
  requestedModel: string | null;
  responseModel: string | null;
  outputPreview: string | null;
  /** Why the provider stopped a completed call (`stop`, `length`, …). */
  finishReason: string | null;
  traceId: string | null;
  note: string | null;
}

/** The run's counters, as the last `run.progress` event gave them. */
export type Progress = EventPayloads['run.progress'];

export interface RunState {
  /** The seq the event stream started after (the first snapshot's): events received = lastSeq - firstSeq. */
  firstSeq: number;
  lastSeq: number;
  /** The seq the counters (`progress`) are of: an older progress never replaces them. */
  progressSeq: number;
  /** The latest snapshot from the server: charts and per-model figures over the whole run. */
  snapshot: RunSnapshot | null;
  /**
   * Rows as the events of the items in the page's window left them (the table's rows come from the
   * server's pages; these show what happened since a page was fetched).
   */
  rows: Map<string, Row>;
  progress: Progress | null;
  status: string | null;
  /** Recent retries and rate-limit waits, newest first. */
  waits: Array<{ at: number; itemId: string; text: string }>;
  /** Per provider key (its label), the last `rate.limit` event and when it was sent. */
  rateLimits: Map<string, RateLimitView>;
  finished: boolean;
}

export type RateLimitView = EventPayloads['rate.limit'] & { at: number };

export function emptyState(): RunState {
  return {
    firstSeq: 0,
    lastSeq: 0,
    progressSeq: 0,
    snapshot: null,
    rows: new Map(),
    progress: null,
    status: null,
    waits: [],
    rateLimits: new Map(),
    finished: false,
  };
}

const waitText = (w: { promptIndex: number; errorType: string; httpStatus: number | null; waitMs: number }) =>
  `#${w.promptIndex} ${w.errorType}${w.httpStatus ? ` ${w.httpStatus}` : ''} → retry in ${w.waitMs} ms`;

/**
 * Takes a snapshot in. `start`: the event stream goes on from its seq (the page's first one, or a
 * resync): the run's status and retries are the snapshot's. Otherwise it is a refresh taken while
 * events stream in, possibly ahead of them: it replaces the charts' and models' figures, and the
 * counters only if it is newer than the progress they are of, so they never go back.
 */
export function applySnapshot(state: RunState, snap: RunSnapshot, opts: { start?: boolean } = {}): RunState {
  if (!state.snapshot || snap.seq >= state.snapshot.seq) state.snapshot = snap;
  if (snap.seq > state.progressSeq) {
    const p = snap.finished
      ? {
          ...(snap.progress ?? { inFlight: 0, throughput: 0, retries: 0, elapsedMs: snap.finished.durationMs }),
          ...snap.finished,
          inFlight: 0,
        }
      : snap.progress;
    if (p) {
      state.progress = p;
      state.progressSeq = snap.seq;
    }
  }
  if (opts.start && snap.seq >= state.lastSeq) {
    state.firstSeq = snap.seq;
    state.lastSeq = snap.seq;
    state.status = snap.status;
    state.finished = snap.finished != null;
    state.waits = snap.retries
      .slice()
      .reverse()
      .map((r) => ({ at: Date.parse(r.at), itemId: r.itemId, text: waitText(r) }));
  }
  return state;
}

export function rowFromItem(i: ItemRow): Row {
  const t = i.trace;
  return {
    id: i.id,
    modelId: i.modelId,
    promptIndex: i.promptIndex,
    repeatIndex: i.repeatIndex,
    status: i.status as RowStatus,
    attempts: i.attempts,
    latencyMs: t?.latencyMs ?? null,
    ttftMs: t?.ttftMs ?? null,
    inputTokens: t?.inputTokens ?? null,
    outputTokens: t?.outputTokens ?? null,
    costUsd: t?.costUsd ?? null,
    attribution: t?.status === 'ok' ? t.attribution : null,
    requestedModel: t?.requestedModel ?? null,
    responseModel: t?.responseModel ?? null,
    outputPreview: t?.outputPreview ?? t?.errorMessage ?? null,
    traceId: t?.id ?? null,
    finishReason: t?.status === 'ok' ? t.finishReason : null,
    note: t && t.status !== 'ok' ? `${t.errorType ?? t.status}${t.httpStatus ? ` ${t.httpStatus}` : ''}` : null,
  };
}

const TERMINAL = new Set<RowStatus>(['completed', 'failed', 'cancelled']);

/** The prompts whose rows a page shows, from `fromPrompt` to `toPrompt`. */
export interface PromptWindow {
  fromPrompt: number;
  toPrompt: number;
}

/**
 * A row as the server's page had it, or as events moved it on since (a later attempt, or the
 * same attempt started, retrying or ended while the page still says pending).
 */
export function shownRow(state: RunState, fetched: Row): Row {
  const live = state.rows.get(fetched.id);
  if (!live) return fetched;
  if (live.attempts > fetched.attempts) return live;
  return live.attempts === fetched.attempts && !TERMINAL.has(fetched.status) ? live : fetched;
}

/** Forgets the event rows of prompts outside the window: the page no longer gets their events. */
export function keepWindow(state: RunState, w: PromptWindow): void {
  for (const [id, r] of state.rows)
    if (r.promptIndex < w.fromPrompt || r.promptIndex > w.toPrompt) state.rows.delete(id);
}

/**
 * Applies events in seq order, skipping any already applied (a replay after a reconnect), so no
 * row is lost or doubled. An event older than the snapshot of its row never moves it backwards.
 */
export function applyEvents(state: RunState, events: RunEventMessage[]): RunState {
  for (const e of events) {
    if (e.seq <= state.lastSeq) continue;
    state.lastSeq = e.seq;
    switch (e.type) {
      case 'run.status':
        state.status = e.payload.status;
        if (e.payload.status === 'running') state.finished = false;
        break;
      case 'rate.limit':
        state.rateLimits.set(e.payload.key, { ...e.payload, at: Date.parse(e.at) });
        break;
      case 'run.progress':
        if (e.seq > state.progressSeq) {
          state.progress = e.payload;
          state.progressSeq = e.seq;
        }
        break;
      case 'run.finished':
        state.status = e.payload.status;
        state.finished = true;
        state.progress = {
          ...(state.progress ?? { inFlight: 0, throughput: 0, retries: 0, elapsedMs: e.payload.durationMs }),
          ...e.payload,
          inFlight: 0,
        };
        state.progressSeq = Math.max(state.progressSeq, e.seq);
        break;
      case 'item.started':
      case 'item.retrying':
      case 'item.completed':
      case 'item.failed': {
        const p = e.payload;
        let row = state.rows.get(p.itemId);
        if (!row) {
          row = rowFromItem({
            id: p.itemId,
            modelId: p.modelId,
            promptIndex: p.promptIndex,
            repeatIndex: p.repeatIndex,
            status: 'pending',
            attempts: 0,
            trace: null,
          } as unknown as ItemRow);
          state.rows.set(p.itemId, row);
        }
        const stale =
          p.attempt < row.attempts ||
          (p.attempt === row.attempts &&
            TERMINAL.has(row.status) &&
            (e.type === 'item.started' || e.type === 'item.retrying'));
        if (e.type === 'item.retrying')
          state.waits.unshift({
            at: Date.parse(e.at),
            itemId: p.itemId,
            text: waitText({ ...e.payload, promptIndex: p.promptIndex }),
          });
        if (state.waits.length > 50) state.waits.length = 50;
        if (stale) break;
        row.attempts = p.attempt;
        if (e.type === 'item.started') {
          row.status = 'running';
          row.note = p.attempt > 1 ? `attempt ${p.attempt}` : null;
        } else if (e.type === 'item.retrying') {
          row.status = 'retrying';
          row.note = `${e.payload.errorType}${e.payload.httpStatus ? ` ${e.payload.httpStatus}` : ''}, waiting ${e.payload.waitMs} ms`;
        } else if (e.type === 'item.completed') {
          const c = e.payload;
          Object.assign(row, {
            status: 'completed',
            latencyMs: c.latencyMs,
            ttftMs: c.ttftMs,
            inputTokens: c.inputTokens,
            outputTokens: c.outputTokens,
            costUsd: c.costUsd,
            attribution: c.attribution,
            requestedModel: c.requestedModel,
            responseModel: c.responseModel,
            outputPreview: c.outputPreview,
            finishReason: c.finishReason,
            traceId: c.traceId,
            note: null,
          });
        } else {
          const f = e.payload;
          Object.assign(row, {
            status: f.errorType === 'cancelled' ? 'cancelled' : 'failed',
            latencyMs: f.latencyMs,
            traceId: f.traceId,
            outputPreview: f.message,
            note: `${f.errorType}${f.httpStatus ? ` ${f.httpStatus}` : ''}`,
          });
        }
      }
    }
  }
  return state;
}

export interface ModelStats {
  modelId: string;
  items: number;
  completed: number;
  failed: number;
  running: number;
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  ttftP50: number | null;
  ttftP95: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  mismatches: number;
  /** Completed answers the provider ended with finish_reason `length` (cut off by max tokens). */
  lengthFinishes: number;
}

/**
 * Per-model figures: the server's, over the whole run, when a snapshot is in (percentiles within a
 * bin, 8%); otherwise from the rows loaded (exact, for those rows).
 */
export function modelStats(state: RunState): Map<string, ModelStats> {
  if (state.snapshot) return snapshotModelStats(state.snapshot);
  const acc = new Map<string, { s: ModelStats; lat: number[]; ttft: number[] }>();
  for (const r of state.rows.values()) {
    let a = acc.get(r.modelId);
    if (!a) {
      a = {
        s: {
          modelId: r.modelId,
          items: 0,
          completed: 0,
          failed: 0,
          running: 0,
          successRate: null,
          p50: null,
          p95: null,
          ttftP50: null,
          ttftP95: null,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
          mismatches: 0,
          lengthFinishes: 0,
        },
        lat: [],
        ttft: [],
      };
      acc.set(r.modelId, a);
    }
    const s = a.s;
    s.items++;
    if (r.status === 'completed') {
      s.completed++;
      if (r.latencyMs != null) a.lat.push(r.latencyMs);
      if (r.ttftMs != null) a.ttft.push(r.ttftMs);
      s.inputTokens += r.inputTokens ?? 0;
      s.outputTokens += r.outputTokens ?? 0;
      s.costUsd += r.costUsd ?? 0;
      if (r.attribution === 'mismatch') s.mismatches++;
      if (r.finishReason === 'length') s.lengthFinishes++;
    } else if (r.status === 'failed') s.failed++;
    else if (r.status === 'running' || r.status === 'retrying') s.running++;
  }
  const out = new Map<string, ModelStats>();
  for (const [id, { s, lat, ttft }] of acc) {
    lat.sort((x, y) => x - y);
    ttft.sort((x, y) => x - y);
    const done = s.completed + s.failed;
    out.set(id, {
      ...s,
      successRate: done ? s.completed / done : null,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      ttftP50: percentile(ttft, 50),
      ttftP95: percentile(ttft, 95),
    });
  }
  return out;
}

function snapshotModelStats(snap: RunSnapshot): Map<string, ModelStats> {
  const out = new Map<string, ModelStats>();
  for (const m of snap.models) {
    const done = m.completed + m.failed;
    out.set(m.modelId, {
      modelId: m.modelId,
      items: m.completed + m.failed + m.cancelled,
      completed: m.completed,
      failed: m.failed,
      running: 0,
      successRate: done ? m.completed / done : null,
      p50: m.latency.p50,
      p95: m.latency.p95,
      ttftP50: m.ttft.p50,
      ttftP95: m.ttft.p95,
      inputTokens: m.inputTokens,
      outputTokens: m.outputTokens,
      costUsd: m.costUsd,
      mismatches: m.mismatches,
      lengthFinishes: m.lengthFinishes,
    });
  }
  return out;
}
