import type { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import { openPostgres } from './postgres.js';
import type { WriteBatch } from './rows.js';
import { openSqlite } from './sqlite.js';
import { type DbProvider, parseDbUrl } from './url.js';

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

/** Opens the database named by `url`: SQLite for `file:` (WAL on), PostgreSQL for `postgresql://`. */
export async function createDb(url?: string): Promise<Db> {
  const parsed = parseDbUrl(url);
  return parsed.provider === 'sqlite' ? openSqlite(parsed.url, parsed.file!) : openPostgres(parsed.url);
}
