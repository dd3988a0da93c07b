// What an open database is, apart from how each provider opens it (sqlite.ts, postgres.ts), so
// those and client.ts (which picks one) depend on this file, not on each other.
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import type { WriteBatch } from './rows.js';
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
  close(): Promise<void>;
}
