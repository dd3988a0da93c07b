// Keeps each run's aggregates (stats.ts) current as its events commit, so a snapshot costs a copy,
// never a scan of the run. The writer hands every committed batch to `observe` before it publishes
// it: a snapshot taken at seq S holds exactly the events up to S, and a subscription from S gets the
// rest. A run not in memory is loaded from its saved aggregates (RunStats) plus the log after them,
// read through the database's event reader (a read-only connection on SQLite) a page at a time.
import type { Db, Prisma } from '@batchlight/db';
import { readEventLog } from './log.js';
import {
  applyEvent,
  type HistogramView,
  histogramView,
  type ModelStats,
  mergeHistograms,
  type RetryNote,
  type RunStatsState,
  restoreStats,
  type SeriesPoint,
} from './stats.js';
import type { EventPayloads, RunEventMessage, RunStatus } from './types.js';

/** How often a running run's aggregates are saved (a restart rebuilds from there plus the log). */
const SAVE_EVERY_MS = 5_000;
/** Runs kept in memory besides those executing here: a few KB each. */
const KEEP_IDLE = 64;

interface Entry {
  state: RunStatsState | null;
  /** Events committed while the state loads: applied once it has (those it already read are skipped). */
  pending: RunEventMessage[] | null;
  loading: Promise<RunStatsState> | null;
  pins: number;
  savedAt: number;
  savedSeq: number;
  saving: Promise<void> | null;
}

export interface ModelSnapshot extends Omit<ModelStats, 'latency' | 'ttft'> {
  modelId: string;
  latency: HistogramView;
  ttft: HistogramView;
}

/** What runs.snapshot answers: the run as of event `seq`; subscribe from `seq` for the rest. */
export interface RunSnapshot {
  runId: string;
  seq: number;
  status: RunStatus | null;
  progress: EventPayloads['run.progress'] | null;
  finished: EventPayloads['run.finished'] | null;
  models: ModelSnapshot[];
  /** Every completed call of the run, all models. */
  latency: HistogramView;
  ttft: HistogramView;
  /** Items ended per bucket of `bucketMs` from `startMs` (epoch ms), at most 240 buckets. */
  series: { startMs: number | null; bucketMs: number; points: SeriesPoint[] };
  retries: RetryNote[];
}

export function snapshotOf(runId: string, s: RunStatsState): RunSnapshot {
  const models = Object.entries(s.models);
  return {
    runId,
    seq: s.seq,
    status: s.status,
    progress: s.progress && { ...s.progress },
    finished: s.finished && { ...s.finished },
    models: models.map(([modelId, { latency, ttft, ...counts }]) => ({
      modelId,
      ...counts,
      latency: histogramView(latency),
      ttft: histogramView(ttft),
    })),
    latency: histogramView(mergeHistograms(models.map(([, m]) => m.latency))),
    ttft: histogramView(mergeHistograms(models.map(([, m]) => m.ttft))),
    series: { ...s.series, points: s.series.points.map((p) => ({ ...p })) },
    retries: s.retries.map((r) => ({ ...r })),
  };
}

export class RunStatsStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: Db,
    private readonly log: (message: string) => void,
  ) {}

  /** A batch of committed events (called by the writer after the commit, before it publishes). */
  observe(events: readonly RunEventMessage[]): void {
    for (const e of events) {
      const entry = this.entries.get(e.runId);
      if (!entry) continue; // not in memory: whoever loads it reads this event from the log
      if (entry.pending) {
        entry.pending.push(e);
        continue;
      }
      applyEvent(entry.state!, e);
      if (entry.pins && (e.type === 'run.finished' || performance.now() - entry.savedAt >= SAVE_EVERY_MS)) {
        void this.save(e.runId);
      }
    }
  }

  /** The seq the run's aggregates in memory are at (null: not in memory, or loading). */
  seqOf(runId: string): number | null {
    const entry = this.entries.get(runId);
    return entry?.state && !entry.pending ? entry.state.seq : null;
  }

  /** The run's aggregates, current to the last committed event (loaded once, then kept). */
  async snapshot(runId: string): Promise<RunSnapshot> {
    return snapshotOf(runId, await this.state(runId));
  }

  /** Keeps a run in memory while it executes here, and saves its aggregates as it goes. */
  pin(runId: string): void {
    const entry = this.entry(runId);
    entry.pins++;
    void this.state(runId).catch((err) => this.log(`run ${runId}: aggregates not loaded: ${String(err)}`));
  }

  async unpin(runId: string): Promise<void> {
    const entry = this.entries.get(runId);
    if (!entry) return;
    entry.pins = Math.max(0, entry.pins - 1);
    await this.save(runId);
    this.trim();
  }

  /** Saves the run's aggregates if they moved since the last save; one save at a time per run. */
  async save(runId: string): Promise<void> {
    const entry = this.entries.get(runId);
    if (!entry?.state) return;
    while (entry.saving) await entry.saving;
    const state = entry.state;
    if (state.seq === entry.savedSeq) return;
    const seq = state.seq;
    // Serialised now: the saved row is the state at `seq`, whatever commits while it is written.
    const stats = JSON.parse(JSON.stringify(state)) as Prisma.InputJsonValue;
    entry.savedAt = performance.now();
    entry.saving = this.db.prisma.runStats
      .upsert({ where: { runId }, create: { runId, seq, stats }, update: { seq, stats } })
      .then(
        () => {
          entry.savedSeq = seq;
        },
        (err: unknown) => this.log(`run ${runId}: aggregates not saved: ${String(err)}`),
      )
      .finally(() => {
        entry.saving = null;
      });
    await entry.saving;
  }

  /**
   * Items of a stopped run put back to pending (a resume): they leave their model's failed and
   * cancelled counts, which their next outcome's event counts again. Saved at once.
   */
  async reopen(runId: string, items: Array<{ modelId: string; status: string; count: number }>): Promise<void> {
    const state = await this.state(runId);
    for (const { modelId, status, count } of items) {
      const m = state.models[modelId];
      if (!m) continue;
      if (status === 'failed') m.failed = Math.max(0, m.failed - count);
      if (status === 'cancelled') m.cancelled = Math.max(0, m.cancelled - count);
    }
    state.finished = null;
    const entry = this.entries.get(runId);
    if (entry) entry.savedSeq = -1; // moved without a new event: save even at the same seq
    await this.save(runId);
  }

  /** Drops a deleted run's aggregates (after its save under way, which would write them back). */
  async forget(runId: string): Promise<void> {
    const entry = this.entries.get(runId);
    if (!entry) return;
    while (entry.saving) await entry.saving;
    if (this.entries.get(runId) === entry) this.entries.delete(runId);
  }

  /** Waits for the saves under way and saves what moved since (shutdown: before the database closes). */
  async flush(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((runId) => this.save(runId)));
  }

  private entry(runId: string): Entry {
    let entry = this.entries.get(runId);
    if (entry) {
      // Most recently used last: trim() drops from the front.
      this.entries.delete(runId);
      this.entries.set(runId, entry);
      return entry;
    }
    entry = { state: null, pending: [], loading: null, pins: 0, savedAt: 0, savedSeq: -1, saving: null };
    this.entries.set(runId, entry);
    return entry;
  }

  private state(runId: string): Promise<RunStatsState> {
    const entry = this.entry(runId);
    if (entry.state && !entry.pending) return Promise.resolve(entry.state);
    entry.loading ??= this.load(entry, runId).catch((err: unknown) => {
      // Not kept half-loaded: the next call tries again.
      if (this.entries.get(runId) === entry) this.entries.delete(runId);
      throw err;
    });
    return entry.loading;
  }

  private async load(entry: Entry, runId: string): Promise<RunStatsState> {
    const saved = await this.db.prisma.runStats.findUnique({ where: { runId }, select: { seq: true, stats: true } });
    const state = restoreStats(saved?.stats ?? null);
    entry.savedSeq = saved?.stats ? state.seq : -1;
    let read = 0;
    for await (const e of readEventLog(this.db, runId, state.seq)) {
      applyEvent(state, e);
      read++;
    }
    // Events committed while the log was read: those it already held are skipped by seq.
    for (const e of entry.pending ?? []) applyEvent(state, e);
    entry.pending = null;
    entry.state = state;
    entry.loading = null;
    entry.savedAt = performance.now();
    // A long read once is enough: the next load starts from here.
    if (read > 1000) void this.save(runId);
    this.trim();
    return state;
  }

  private trim(): void {
    let idle = 0;
    for (const e of this.entries.values()) if (!e.pins && !e.loading) idle++;
    for (const [runId, e] of this.entries) {
      if (idle <= KEEP_IDLE) return;
      if (e.pins || e.loading || e.saving) continue;
      this.entries.delete(runId);
      idle--;
    }
  }
}
