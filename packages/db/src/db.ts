// What an open database is, apart from how each provider opens it (sqlite.ts, postgres.ts), so
// those and client.ts (which picks one) depend on this file, not on each other.
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import type { EventRow, LastSeqs, WriteBatch } from './rows.js';
import type { DbProvider } from './url.js';

/**
 * Both generated clients come from one schema, so they share one shape; the SQLite client's type
 * stands for both.
 */
export type PrismaClient = SqliteClient;

/** Where PostgreSQL commits of events are announced (LISTEN/NOTIFY). */
export const EVENTS_CHANNEL = 'batchlight_events';

export interface Db {
  prisma: PrismaClient;
  provider: DbProvider;
  url: string;
  /**
   * The engine's hot path: traces, messages, item updates, counters and events in one
   * transaction. Each run's events take its next seqs there (Run.lastSeq), so processes sharing
   * the database never give two events one seq; on PostgreSQL the commit also notifies
   * EVENTS_CHANNEL (`runId:lastSeq:count` per run, comma-separated) for the other processes.
   */
  writeBatch(batch: WriteBatch): Promise<LastSeqs>;
  /**
   * PostgreSQL only: calls `onRuns` with each commit's `runId:lastSeq:count` list (any process's),
   * and `onGap` after a lost connection is back (notifications meanwhile are lost: read the logs).
   */
  listenEvents?(
    onRuns: (runs: Array<{ runId: string; lastSeq: number; count: number }>) => void,
    onGap: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Up to `limit` committed events of a run after `afterSeq`, in seq order, read where no write
   * waits for it: on SQLite a read-only connection of its own (WAL: it reads the last commit while
   * the engine writes), not Prisma's, whose queries take the lock every write of the process takes.
   */
  readEvents(runId: string, afterSeq: number, limit: number): Promise<EventRow[]>;
  close(): Promise<void>;
}
