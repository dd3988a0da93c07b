// The adapters' @prisma/debug keeps every query's arguments unless emptied: createDb's clients must
// leave nothing of a query behind once it is done, in and out of transactions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { createDb, migrate, type Db } from '../src/index.js';
import { PrismaClient as SqliteClient } from '../src/generated/sqlite/client.js';
import { PrismaClient as PostgresClient } from '../src/generated/postgres/client.js';
import { debugHistoryOf, type DebugHistory } from '../src/debug-history.js';
import { PROVIDERS_UNDER_TEST, tempDatabase, type TempDatabase } from '../src/testing.js';

const ADAPTER = { sqlite: '@prisma/adapter-better-sqlite3', postgresql: '@prisma/adapter-pg' } as const;

describe.each(PROVIDERS_UNDER_TEST)('query arguments on %s', (provider) => {
  let t: TempDatabase;
  let db: Db;
  let history: DebugHistory;
  const param = provider === 'sqlite' ? '?' : '$1::text';
  beforeAll(async () => {
    t = await tempDatabase(provider);
    await migrate(t.url);
    db = await createDb(t.url);
    history = (await debugHistoryOf(ADAPTER[provider]))!;
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  it('are kept by a bare adapter client (so the history found is the one the adapter writes to)', async () => {
    // Without createDb's wrapper: the marker stays in the adapter's debug history.
    const bare =
      provider === 'sqlite'
        ? new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: t.url }) })
        : (new PostgresClient({ adapter: new PrismaPg({ connectionString: t.url }) }) as unknown as SqliteClient);
    try {
      await bare.$queryRawUnsafe(`SELECT ${param} AS v`, 'kept-marker-1');
      expect(history.getLogs()).toContain('kept-marker-1');
    } finally {
      await bare.$disconnect();
      history.clearLogs();
    }
  });

  it('are let go after each query of a createDb client, in and out of transactions', async () => {
    await db.prisma.$queryRawUnsafe(`SELECT ${param} AS v`, 'gone-marker-1');
    expect(history.getLogs()).not.toContain('gone-marker-1');
    await db.prisma.$transaction(async (tx) => {
      await tx.$queryRawUnsafe(`SELECT ${param} AS v`, 'gone-marker-2');
      expect(history.getLogs()).not.toContain('gone-marker-2');
    });
    await db.prisma.promptSet.create({ data: { name: 'gone-marker-3' } });
    expect(history.getLogs()).not.toContain('gone-marker-3');
    await expect(db.prisma.$queryRawUnsafe(`SELECT nonsense_column_${provider} FROM "PromptSet" WHERE "name" = ${param}`, 'gone-marker-4')).rejects.toThrow();
    expect(history.getLogs()).not.toContain('gone-marker-4');
  });
});
