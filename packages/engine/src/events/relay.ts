// Events of runs another process executes, brought to this one's subscribers. The database
// announces each commit of events (PostgreSQL NOTIFY: run, last seq, how many); for a run not
// executing here the relay reads the new events from the log and hands them to the aggregates
// and the bus, in seq order, each once. The log stays the source: a subscriber replays it from
// its last seq and takes the live events after it, wherever they were committed. The run list's
// feed follows from the run's row.
import type { Db } from '@batchlight/db';
import type { EventBus } from './bus.js';
import { readEventLog } from './log.js';
import type { RunStatsStore } from './stats-store.js';
import type { EventType, RunEventMessage, RunStatus } from './types.js';

/** Events after which the run list's counters of the run are sent on (`runs.feed`). */
const FEED_EVENTS = new Set<EventType>(['run.status', 'run.progress', 'run.finished']);

export interface Relay {
  close(): Promise<void>;
}

export async function startRelay(
  db: Db,
  bus: EventBus,
  stats: RunStatsStore,
  isLocal: (runId: string) => boolean,
  log: (message: string) => void,
): Promise<Relay | null> {
  if (!db.listenEvents) return null; // SQLite: one process
  /** Per run: the last seq handed on, and the reading under way (one at a time, in order). */
  const runs = new Map<string, { seq: number; reading: Promise<void> }>();

  /** The run list's line of the run, from its row (what the executing process publishes too). */
  const publishFeed = async (runId: string) => {
    const run = await db.prisma.run.findUnique({
      where: { id: runId },
      select: {
        status: true,
        completedItems: true,
        failedItems: true,
        cancelledItems: true,
        totalItems: true,
        costUsd: true,
      },
    });
    if (!run) return;
    bus.publishFeed({
      runId,
      status: run.status as RunStatus,
      completed: run.completedItems,
      failed: run.failedItems,
      cancelled: run.cancelledItems,
      total: run.totalItems,
      costUsd: run.costUsd,
    });
  };

  const relay = (runId: string, lastSeq: number, count: number) => {
    if (isLocal(runId)) return; // this process's writer publishes them
    let run = runs.get(runId);
    if (!run) {
      // From the first event of this commit, or from what the aggregates in memory hold.
      const from = Math.min(lastSeq - count, stats.seqOf(runId) ?? Number.POSITIVE_INFINITY);
      run = { seq: from, reading: Promise.resolve() };
      runs.set(runId, run);
    }
    const r = run;
    r.reading = r.reading.then(async () => {
      if (lastSeq <= r.seq) return;
      const batch: RunEventMessage[] = [];
      for await (const e of readEventLog(db, runId, r.seq)) {
        if (e.seq > lastSeq) break;
        batch.push(e);
      }
      if (!batch.length) return;
      r.seq = batch[batch.length - 1]!.seq;
      stats.observe(batch);
      bus.publish(batch);
      if (batch.some((e) => FEED_EVENTS.has(e.type))) await publishFeed(runId);
      if (batch.some((e) => e.type === 'run.finished')) runs.delete(runId);
    });
    r.reading = r.reading.catch((err: unknown) => log(`events of run ${runId} not relayed: ${String(err)}`));
  };

  const stop = await db.listenEvents(
    (announced) => {
      for (const { runId, lastSeq, count } of announced) relay(runId, lastSeq, count);
    },
    () => {
      // Back after a lost connection: what was committed meanwhile is read from the logs.
      for (const runId of runs.keys()) relay(runId, Number.MAX_SAFE_INTEGER, 0);
    },
  );
  return {
    async close() {
      await stop();
      await Promise.all([...runs.values()].map((r) => r.reading));
    },
  };
}
