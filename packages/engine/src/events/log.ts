// A run's event log, read back.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '@batchlight/db';
import type { RunEventMessage } from './types.js';

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
