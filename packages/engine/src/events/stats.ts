// A run's aggregates, folded from its committed events one at a time: what a monitor (or the CLI)
// starts from instead of replaying the whole log. Memory is bounded whatever the run's size:
// latency is kept in log-spaced bins, the time series in at most MAX_POINTS buckets (their width
// doubles as the run goes on), the retries as the last MAX_RETRIES. No imports but types, so the
// monitor can fold the events it tails into the same shape.
import type { EventPayloads, RunEventMessage, RunStatus } from './types.js';

/** Bin i > 0 holds values in [GROWTH^(i-1), GROWTH^i) ms; bin 0 holds values under 1 ms. */
export const BIN_GROWTH = 1.08;
const LOG_GROWTH = Math.log(BIN_GROWTH);
/** Buckets of the time series at most: a merge halves them when a run outgrows them. */
export const MAX_POINTS = 240;
const FIRST_BUCKET_MS = 250;
export const MAX_RETRIES = 20;
const RETRY_MESSAGE_CHARS = 200;

export function binOf(ms: number): number {
  return ms < 1 ? 0 : 1 + Math.floor(Math.log(ms) / LOG_GROWTH + 1e-9);
}
/** [lower, upper) bounds of bin `i`, in ms. */
export function binBounds(i: number): [number, number] {
  return i === 0 ? [0, 1] : [BIN_GROWTH ** (i - 1), BIN_GROWTH ** i];
}

export interface Histogram {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  /** Sparse: bin index -> count. */
  bins: Record<number, number>;
}

const emptyHistogram = (): Histogram => ({ count: 0, sum: 0, min: null, max: null, bins: {} });

function record(h: Histogram, ms: number) {
  h.count++;
  h.sum += ms;
  h.min = h.min === null ? ms : Math.min(h.min, ms);
  h.max = h.max === null ? ms : Math.max(h.max, ms);
  const b = binOf(ms);
  h.bins[b] = (h.bins[b] ?? 0) + 1;
}

/**
 * Nearest-rank percentile from the bins: the upper bound of the bin holding that rank, clamped to
 * the exact min and max, so within one bin's width (8%) of the exact value.
 */
export function histogramPercentile(h: Histogram, p: number): number | null {
  if (!h.count) return null;
  const rank = Math.min(h.count, Math.max(1, Math.ceil((p / 100) * h.count)));
  let seen = 0;
  for (const i of Object.keys(h.bins)
    .map(Number)
    .sort((a, b) => a - b)) {
    seen += h.bins[i]!;
    if (seen >= rank) return Math.min(h.max!, Math.max(h.min!, binBounds(i)[1]));
  }
  return h.max;
}

export function mergeHistograms(hs: Histogram[]): Histogram {
  const out = emptyHistogram();
  for (const h of hs) {
    out.count += h.count;
    out.sum += h.sum;
    if (h.min !== null) out.min = out.min === null ? h.min : Math.min(out.min, h.min);
    if (h.max !== null) out.max = out.max === null ? h.max : Math.max(out.max, h.max);
    for (const [i, n] of Object.entries(h.bins)) out.bins[Number(i)] = (out.bins[Number(i)] ?? 0) + n;
  }
  return out;
}

export interface ModelStats {
  completed: number;
  failed: number;
  cancelled: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  mismatches: number;
  lengthFinishes: number;
  latency: Histogram;
  ttft: Histogram;
}

/** One bucket of the series: items that ended in it, and their latency sum (for the mean). */
export interface SeriesPoint {
  completed: number;
  failed: number;
  latencySum: number;
}

export type RetryNote = Pick<
  EventPayloads['item.retrying'],
  'itemId' | 'modelId' | 'promptIndex' | 'attempt' | 'errorType' | 'httpStatus' | 'message' | 'waitMs'
> & { seq: number; at: string };

/** The folded state: plain JSON, saved as is (RunStats.stats) and read back with `restore`. */
export interface RunStatsState {
  version: 1;
  seq: number;
  status: RunStatus | null;
  progress: EventPayloads['run.progress'] | null;
  finished: EventPayloads['run.finished'] | null;
  models: Record<string, ModelStats>;
  series: { startMs: number | null; bucketMs: number; points: SeriesPoint[] };
  retries: RetryNote[];
}

export function emptyStats(): RunStatsState {
  return {
    version: 1,
    seq: 0,
    status: null,
    progress: null,
    finished: null,
    models: {},
    series: { startMs: null, bucketMs: FIRST_BUCKET_MS, points: [] },
    retries: [],
  };
}

/** A saved state, or an empty one when it is missing or of another shape (the log rebuilds it). */
export function restoreStats(json: unknown): RunStatsState {
  const s = json as Partial<RunStatsState> | null;
  return s && s.version === 1 && typeof s.seq === 'number' ? (s as RunStatsState) : emptyStats();
}

function model(s: RunStatsState, modelId: string): ModelStats {
  let m = s.models[modelId];
  if (!m) {
    m = {
      completed: 0,
      failed: 0,
      cancelled: 0,
      retries: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      mismatches: 0,
      lengthFinishes: 0,
      latency: emptyHistogram(),
      ttft: emptyHistogram(),
    };
    s.models[modelId] = m;
  }
  return m;
}

function point(s: RunStatsState, at: string): SeriesPoint {
  const t = Date.parse(at);
  const series = s.series;
  series.startMs ??= t;
  let i = Math.max(0, Math.floor((t - series.startMs) / series.bucketMs));
  while (i >= MAX_POINTS) {
    // Twice as wide, half as many: pairs merge.
    const merged: SeriesPoint[] = [];
    for (let k = 0; k < series.points.length; k += 2) {
      const a = series.points[k]!;
      const b = series.points[k + 1];
      merged.push(
        b
          ? {
              completed: a.completed + b.completed,
              failed: a.failed + b.failed,
              latencySum: a.latencySum + b.latencySum,
            }
          : a,
      );
    }
    series.points = merged;
    series.bucketMs *= 2;
    i = Math.floor((t - series.startMs) / series.bucketMs);
  }
  while (series.points.length <= i) series.points.push({ completed: 0, failed: 0, latencySum: 0 });
  return series.points[i]!;
}

/** Folds one committed event in; events at or below the state's seq are already in. */
export function applyEvent(s: RunStatsState, e: RunEventMessage): void {
  if (e.seq <= s.seq) return;
  s.seq = e.seq;
  switch (e.type) {
    case 'run.status':
      s.status = e.payload.status;
      if (e.payload.status === 'running') {
        s.finished = null; // resumed
        s.series.startMs ??= Date.parse(e.at);
      }
      return;
    case 'run.progress':
      s.progress = e.payload;
      return;
    case 'run.finished':
      s.finished = e.payload;
      s.status = e.payload.status;
      return;
    case 'item.completed': {
      const p = e.payload;
      const m = model(s, p.modelId);
      m.completed++;
      m.inputTokens += p.inputTokens ?? 0;
      m.outputTokens += p.outputTokens ?? 0;
      m.costUsd += p.costUsd ?? 0;
      if (p.attribution === 'mismatch') m.mismatches++;
      if (p.finishReason === 'length') m.lengthFinishes++;
      record(m.latency, p.latencyMs);
      if (p.ttftMs !== null) record(m.ttft, p.ttftMs);
      const pt = point(s, e.at);
      pt.completed++;
      pt.latencySum += p.latencyMs;
      return;
    }
    case 'item.failed': {
      const m = model(s, e.payload.modelId);
      if (e.payload.errorType === 'cancelled') m.cancelled++;
      else {
        m.failed++;
        point(s, e.at).failed++;
      }
      return;
    }
    case 'item.retrying': {
      const p = e.payload;
      model(s, p.modelId).retries++;
      s.retries.push({
        seq: e.seq,
        at: e.at,
        itemId: p.itemId,
        modelId: p.modelId,
        promptIndex: p.promptIndex,
        attempt: p.attempt,
        errorType: p.errorType,
        httpStatus: p.httpStatus,
        message: p.message.slice(0, RETRY_MESSAGE_CHARS),
        waitMs: p.waitMs,
      });
      if (s.retries.length > MAX_RETRIES) s.retries.splice(0, s.retries.length - MAX_RETRIES);
      return;
    }
    case 'item.started':
    case 'rate.limit':
      return;
  }
}

export interface HistogramView {
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  /** Non-empty bins in ascending order: [lower, upper) in ms and how many calls. */
  bins: Array<{ lo: number; hi: number; count: number }>;
}

export function histogramView(h: Histogram): HistogramView {
  const q = (p: number) => histogramPercentile(h, p);
  return {
    count: h.count,
    min: h.min,
    max: h.max,
    mean: h.count ? h.sum / h.count : null,
    p50: q(50),
    p90: q(90),
    p95: q(95),
    p99: q(99),
    bins: Object.keys(h.bins)
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => {
        const [lo, hi] = binBounds(i);
        return { lo, hi, count: h.bins[i]! };
      }),
  };
}
