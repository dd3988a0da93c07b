// Hands out each run's event sequence numbers. One process owns a run at a time, so a counter
// seeded from the log's last seq keeps seq strictly increasing with no gap.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, PrismaClient } from '@batchlight/db';
import type { EventPayloads, EventType, RunEventMessage } from './types.js';

export class EventSequencer {
  private readonly next = new Map<string, number>();

  constructor(private readonly prisma: PrismaClient) {}

  /** Seeds the counter for a run from its log (call before the run emits anything). */
  async open(runId: string): Promise<void> {
    const last = await this.prisma.runEvent.findFirst({
      where: { runId },
      orderBy: { seq: 'desc' },
      select: { seq: true },
    });
    this.next.set(runId, (last?.seq ?? 0) + 1);
  }

  close(runId: string): void {
    this.next.delete(runId);
  }

  make<T extends EventType>(runId: string, type: T, payload: EventPayloads[T]): RunEventMessage {
    const seq = this.next.get(runId);
    if (seq === undefined) throw new Error(`event log of run ${runId} is not open`);
    this.next.set(runId, seq + 1);
    // `at` is provisional: the writer stamps the time the event enters the log.
    return { runId, seq, type, payload, at: new Date().toISOString() } as RunEventMessage;
  }
}

/**
 * Reads a run's committed events after `afterSeq`, in order, a page at a time through the
 * database's event reader (on SQLite a read-only connection: no write of the run waits for it).
 * Between pages it gives the event loop back, and waits `pauseMs` more when asked: a replay is
 * paced, so many of them at once cannot take the loop (and the run's commits) for themselves.
 */
export async function* readEventLog(
  db: Db,
  runId: string,
  afterSeq: number,
  opts: { pageSize?: number; pauseMs?: number } = {},
): AsyncGenerator<RunEventMessage> {
  const pageSize = opts.pageSize ?? 1000;
  let cursor = afterSeq;
  for (;;) {
    const rows = await db.readEvents(runId, cursor, pageSize);
    for (const r of rows) {
      yield { runId, seq: r.seq, type: r.type, payload: r.payload, at: r.createdAt.toISOString() } as RunEventMessage;
    }
    if (rows.length < pageSize) return;
    cursor = rows[rows.length - 1]!.seq;
    if (opts.pauseMs) await sleep(opts.pauseMs);
    else await new Promise<void>((r) => setImmediate(r));
  }
}
