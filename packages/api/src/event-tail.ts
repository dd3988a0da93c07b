// One subscriber's view of a run's events: the log after its last seen seq, then the live bus,
// with what the subscriber has not taken kept within a bound. Events wait in a queue only while
// the subscriber's socket is full (its peer reads slower than the run writes); there, a `resync`
// subscriber's progress is coalesced (only the latest counters matter), and events are kept up to
// MAX_QUEUED. Past that
// the queue is dropped: the subscriber is told to resync from a snapshot (`resync`), or goes back
// to the log from where it was (`replay`, for readers that want every event: the CLI). Either way
// the server never holds more than the bound for a viewer, and the log, committed before any event
// is published, has everything that was dropped.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Engine, FINISHED_RUN_STATUSES, type RunEventMessage, readEventLog } from '@batchlight/engine';
import type { Context } from './context.js';
import { nextEvent } from './wait.js';

/** Item events one subscriber may have waiting (besides one coalesced progress). */
export const MAX_QUEUED = 2000;
/** Bytes a subscriber's socket may hold before its subscriptions stop producing. */
export const SOCKET_HIGH_WATER = 512 * 1024;
/** Rows of the log read at once, and the pause between pages of a replay. */
const REPLAY_PAGE = 500;
const REPLAY_PAUSE_MS = 5;
const POLL_MS = 20;

const TERMINAL = new Set<string>(FINISHED_RUN_STATUSES);

/** Sent instead of the events a subscriber fell too far behind on: load `runs.snapshot` and go on from its seq. */
export interface ResyncMessage {
  type: 'resync';
  runId: string;
  /** The last event delivered before this. */
  seq: number;
  reason: string;
}

export type TailMessage = RunEventMessage | ResyncMessage;
export type BehindPolicy = 'replay' | 'resync';

export interface TailOptions {
  runId: string;
  afterSeq: number;
  behind: BehindPolicy;
  /**
   * Which item rows the subscriber is shown events of (item.started, item.completed, item.failed):
   * all of them, none (a viewer that reads its rows from runs.items), or those of the prompts in a
   * window (a table showing those rows). Run events, retries and scores always come. A run at a
   * thousand calls a second then costs a viewer a few messages a second instead of three thousand.
   */
  items: ItemRowFilter;
  signal: AbortSignal | undefined;
}

export type ItemRowFilter = boolean | { fromPrompt: number; toPrompt: number };

/** The item events that only a viewer showing that item's row needs. */
const ITEM_ROW_EVENTS = new Set<string>(['item.started', 'item.completed', 'item.failed']);

function rowFilter(items: ItemRowFilter): (e: RunEventMessage) => boolean {
  if (items === true) return () => true;
  if (items === false) return (e) => !ITEM_ROW_EVENTS.has(e.type);
  const { fromPrompt, toPrompt } = items;
  return (e) => {
    if (!ITEM_ROW_EVENTS.has(e.type)) return true;
    const at = (e.payload as { promptIndex: number }).promptIndex;
    return at >= fromPrompt && at <= toPrompt;
  };
}

/** What one subscription holds: events queued now and at most, its socket's buffer now and at most. */
export interface TailGauge {
  runId: string;
  queued: number;
  maxQueued: number;
  bufferedBytes: number;
  maxBufferedBytes: number;
  /** Times the queue passed its bound and was dropped. */
  overflows: number;
  resyncs: number;
}

const gauges = new Set<TailGauge>();
/** The open subscriptions' gauges: the per-viewer memory a server holds (tests, bench, diagnostics). */
export function tailGauges(): TailGauge[] {
  return [...gauges].map((g) => ({ ...g }));
}

export async function* tailRun(
  ctx: Pick<Context, 'db' | 'engine' | 'outbound'>,
  opts: TailOptions,
): AsyncGenerator<TailMessage> {
  const { runId, signal } = opts;
  const gauge: TailGauge = {
    runId,
    queued: 0,
    maxQueued: 0,
    bufferedBytes: 0,
    maxBufferedBytes: 0,
    overflows: 0,
    resyncs: 0,
  };
  gauges.add(gauge);
  const engine: Engine = ctx.engine;
  let queue: Array<RunEventMessage | null> = [];
  /** Where the queued progress is (null: none queued): a newer one replaces it. */
  let progressAt: number | null = null;
  let overflowed = false;
  const wake = { fn: null as null | (() => void) };
  // Progress is coalesced only for a subscriber that takes a snapshot when behind, and only while
  // its socket is full (it cannot keep up): a queue that fills while the log is replayed, or for a
  // reader that wants every event, keeps every progress (past the bound, the log has them).
  const coalesce = () => opts.behind === 'resync' && (ctx.outbound?.bufferedBytes() ?? 0) > SOCKET_HIGH_WATER;
  const wanted = rowFilter(opts.items);
  const unsubscribe = engine.bus.subscribe(runId, (e) => {
    if (overflowed || !wanted(e)) return;
    if (e.type === 'run.progress' && coalesce()) {
      if (progressAt !== null) queue[progressAt] = null;
      progressAt = queue.length;
    } else if (e.type === 'run.progress') progressAt = null;
    queue.push(e);
    if (queue.length - (progressAt === null ? 0 : 1) > MAX_QUEUED) {
      queue = [];
      progressAt = null;
      overflowed = true;
      gauge.overflows++;
    }
    gauge.queued = queue.length;
    gauge.maxQueued = Math.max(gauge.maxQueued, queue.length);
    wake.fn?.();
  });

  /** Waits while the subscriber's socket holds more than the high-water mark; false once it is gone. */
  const writable = async (): Promise<boolean> => {
    for (;;) {
      const buffered = ctx.outbound?.bufferedBytes() ?? 0;
      gauge.bufferedBytes = buffered;
      gauge.maxBufferedBytes = Math.max(gauge.maxBufferedBytes, buffered);
      if (buffered <= SOCKET_HIGH_WATER) break;
      if (signal?.aborted) return false;
      await sleep(POLL_MS);
    }
    return !signal?.aborted;
  };

  let last = opts.afterSeq;
  /** The run was over when the queue ran dry: the log is read once more, then the tail ends. */
  let ended = false;
  const resync = (reason: string): ResyncMessage => {
    gauge.resyncs++;
    return { type: 'resync', runId, seq: last, reason };
  };
  try {
    for (;;) {
      // The log from `last`, paced; a subscriber that wants a snapshot instead is not fed a long one.
      let lastType: string | null = null;
      if (opts.behind === 'resync') {
        const ahead = await ctx.db.readEvents(runId, last, MAX_QUEUED + 1);
        if (ahead.length > MAX_QUEUED) {
          yield resync(`more than ${MAX_QUEUED} events behind`);
          return;
        }
      }
      for await (const e of readEventLog(ctx.db, runId, last, { pageSize: REPLAY_PAGE, pauseMs: REPLAY_PAUSE_MS })) {
        last = e.seq;
        lastType = e.type;
        if (!wanted(e)) continue;
        if (!(await writable())) return;
        yield e;
      }
      if (lastType === 'run.finished' && !engine.isExecuting(runId)) return;
      if (ended) return; // over, and the log has no run.finished to end on
      // Live, from the queue.
      for (;;) {
        while (queue.length) {
          const e = queue.shift()!;
          if (progressAt !== null) progressAt = progressAt === 0 ? null : progressAt - 1;
          gauge.queued = queue.length;
          if (!e || e.seq <= last) continue; // coalesced away, or already sent from the log
          if (!(await writable())) return;
          yield e;
          last = e.seq;
          if (e.type === 'run.finished') return;
        }
        if (overflowed) break;
        if (!engine.isExecuting(runId)) {
          // Over (perhaps executed by another process, whose last events may not have reached
          // this one yet): the log has them, read once more to its end.
          const run = await ctx.db.prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
          if (run && TERMINAL.has(run.status) && !queue.length && !overflowed) {
            ended = true;
            break;
          }
        }
        if (queue.length || overflowed) continue;
        if (!(await nextEvent(wake, signal, 5_000))) return;
      }
      if (ended) continue;
      // Fell more than the bound behind: the queue is gone, the log has what it held.
      overflowed = false;
      if (opts.behind === 'resync') {
        yield resync(`more than ${MAX_QUEUED} events behind`);
        return;
      }
    }
  } finally {
    unsubscribe();
    gauges.delete(gauge);
  }
}
