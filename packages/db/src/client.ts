import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import { PrismaClient as PostgresClient } from './generated/postgres/client.js';
import { forgetQueryArguments } from './debug-history.js';
import { parseDbUrl, type DbProvider } from './url.js';
import { startCheckpointer } from './checkpointer.js';
import { oneAtATime } from './sqlite-lock.js';

/**
 * Both generated clients come from one schema, so they share one shape; the SQLite client's type
 * stands for both.
 */
export type PrismaClient = SqliteClient;

export interface Db {
  prisma: PrismaClient;
  provider: DbProvider;
  url: string;
  close(): Promise<void>;
  /** SQLite only: the connected driver adapter of `prisma`, for the prepared-statement hot path. */
  sqlite?: () => SqlDriverAdapter;
}

/** Opens the database named by `url`: SQLite for `file:` (WAL on), PostgreSQL for `postgresql://`. */
export async function createDb(url?: string): Promise<Db> {
  const parsed = parseDbUrl(url);
  if (parsed.provider === 'sqlite') {
    mkdirSync(dirname(parsed.file!), { recursive: true });
    const factory = await forgetQueryArguments(new PrismaBetterSqlite3({ url: parsed.url, timeout: 10_000 }), '@prisma/adapter-better-sqlite3');
    // Keeps the adapter Prisma connects through, so the hot path can share its connection and lock;
    // every query on it waits its turn (sqlite-lock.ts).
    let connected: SqlDriverAdapter | null = null;
    const adapter = {
      provider: 'sqlite' as const,
      adapterName: factory.adapterName,
      connect: async () => (connected = oneAtATime(await factory.connect())),
      connectToShadowDb: () => factory.connectToShadowDb(),
    };
    const prisma = new SqliteClient({ adapter });
    // WAL lets readers (Studio, the API) go on while the engine writes; NORMAL is safe under WAL
    // and about 3x faster for small writes.
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    // Checkpoints move to a worker (checkpointer.ts); SQLite takes them back if it fails.
    await prisma.$queryRawUnsafe('PRAGMA wal_autocheckpoint = 0');
    const checkpointer = startCheckpointer(parsed.file!, () => {
      void prisma.$queryRawUnsafe('PRAGMA wal_autocheckpoint = 1000').catch(() => undefined);
    });
    const sqlite = () => {
      if (!connected) throw new Error('the SQLite database is not connected');
      return connected;
    };
    const close = async () => {
      await checkpointer.stop();
      await prisma.$disconnect();
    };
    return { prisma, provider: 'sqlite', url: parsed.url, close, sqlite };
  }
  const adapter = await forgetQueryArguments(new PrismaPg({ connectionString: parsed.url, max: 10 }), '@prisma/adapter-pg');
  const prisma = new PostgresClient({ adapter }) as unknown as PrismaClient;
  return { prisma, provider: 'postgresql', url: parsed.url, close: () => prisma.$disconnect() };
}
