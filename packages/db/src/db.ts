// What an open database is, apart from how each provider opens it (sqlite.ts, postgres.ts), so
// those and client.ts (which picks one) depend on this file, not on each other.
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import type { EventRow, WriteBatch } from './rows.js';
import type { DbProvider } from './url.js';

/**
 * Both generated clients come from one schema, so they share one shape; the SQLite client's type
 * stands for both.
 */
export type PrismaClient = SqliteClient;

export interface Db {
  prisma: PrismaClient;
  provider: DbProvider;
  url: string;
  /** The engine's hot path: traces, messages, item updates, counters and events in one transaction. */
  writeBatch(batch: WriteBatch): Promise<void>;
  /**
   * Up to `limit` committed events of a run after `afterSeq`, in seq order, read where no write
   * waits for it: on SQLite a read-only connection of its own (WAL: it reads the last commit while
   * the engine writes), not Prisma's, whose queries take the lock every write of the process takes.
   */
  readEvents(runId: string, afterSeq: number, limit: number): Promise<EventRow[]>;
  close(): Promise<void>;
}
