import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';
import { PrismaClient as PostgresClient } from './generated/postgres/client.js';
import { forgetQueryArguments } from './debug-history.js';
import { parseDbUrl, type DbProvider } from './url.js';

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
}

/** Opens the database named by `url`: SQLite for `file:` (WAL on), PostgreSQL for `postgresql://`. */
export async function createDb(url?: string): Promise<Db> {
  const parsed = parseDbUrl(url);
  if (parsed.provider === 'sqlite') {
    mkdirSync(dirname(parsed.file!), { recursive: true });
    const adapter = await forgetQueryArguments(new PrismaBetterSqlite3({ url: parsed.url, timeout: 10_000 }), '@prisma/adapter-better-sqlite3');
    const prisma = new SqliteClient({ adapter });
    // WAL lets readers (Studio, the API) go on while the engine writes; NORMAL is safe under WAL
    // and about 3x faster for small writes.
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    return { prisma, provider: 'sqlite', url: parsed.url, close: () => prisma.$disconnect() };
  }
  const adapter = await forgetQueryArguments(new PrismaPg({ connectionString: parsed.url, max: 10 }), '@prisma/adapter-pg');
  const prisma = new PostgresClient({ adapter }) as unknown as PrismaClient;
  return { prisma, provider: 'postgresql', url: parsed.url, close: () => prisma.$disconnect() };
}
