import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDb, MIGRATIONS_DIR, MigrationError, migrate, parseDbUrl, readMigrations } from '../src/index.js';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '../src/testing.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fresh(provider: 'sqlite' | 'postgresql'): Promise<TempDatabase> {
  const db = await tempDatabase(provider);
  cleanups.push(() => db.drop());
  return db;
}

async function migrationRows(t: TempDatabase) {
  if (t.provider === 'sqlite') {
    const db = new Database(t.url.slice('file:'.length));
    try {
      return db.prepare('SELECT * FROM _prisma_migrations ORDER BY started_at').all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    return (await c.query('SELECT * FROM _prisma_migrations ORDER BY started_at')).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

async function tableExists(t: TempDatabase, table: string): Promise<boolean> {
  if (t.provider === 'sqlite') {
    const db = new Database(t.url.slice('file:'.length));
    try {
      return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?").get(table);
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    return (await c.query('SELECT to_regclass($1) AS t', [`"${table}"`])).rows[0].t !== null;
  } finally {
    await c.end();
  }
}

/** A copy of the committed migrations plus one that creates a table and then fails. */
function migrationsWithBrokenOne(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batchlight-migrations-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  for (const sub of ['sqlite', 'postgres']) {
    mkdirSync(join(dir, sub, '99990101000000_broken'));
    writeFileSync(
      join(dir, sub, '99990101000000_broken', 'migration.sql'),
      'CREATE TABLE "HalfWritten" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "NoSuchTable" VALUES (1);\n',
    );
    mkdirSync(join(dir, sub, '99990102000000_after'));
    writeFileSync(
      join(dir, sub, '99990102000000_after', 'migration.sql'),
      'CREATE TABLE "After" ("id" INTEGER PRIMARY KEY);\n',
    );
  }
  return dir;
}

describe.each(PROVIDERS_UNDER_TEST)('migrations on %s', (provider) => {
  it('apply to an empty database, recorded as prisma migrate deploy records them; a second run applies nothing', async () => {
    const t = await fresh(provider);
    const expected = readMigrations(provider).map((m) => m.name);
    expect(expected.length).toBeGreaterThan(0);

    const first = await migrate(t.url);
    expect(first.applied).toEqual(expected);
    expect(first.alreadyApplied).toBe(0);

    const rows = await migrationRows(t);
    expect(rows.map((r) => r.migration_name)).toEqual(expected);
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(readMigrations(provider)[i]!.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
      expect(String(row.id)).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(await tableExists(t, 'Trace')).toBe(true);

    const second = await migrate(t.url);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(expected.length);
    expect((await migrationRows(t)).length).toBe(expected.length);
  });

  it('rolls a failing migration back, records its logs, and refuses to go on past it', async () => {
    const t = await fresh(provider);
    const dir = migrationsWithBrokenOne();

    await expect(migrate(t.url, { dir })).rejects.toThrow(/99990101000000_broken failed/);
    expect(await tableExists(t, 'HalfWritten')).toBe(false);
    expect(await tableExists(t, 'After')).toBe(false);
    const failed = (await migrationRows(t)).find((r) => r.migration_name === '99990101000000_broken')!;
    expect(failed.finished_at).toBeNull();
    expect(String(failed.logs)).toMatch(/NoSuchTable/i);

    const again = migrate(t.url, { dir });
    await expect(again).rejects.toBeInstanceOf(MigrationError);
    await expect(migrate(t.url, { dir })).rejects.toThrow(/failed earlier and is not resolved/);
    expect(await tableExists(t, 'After')).toBe(false);
  });
});

describe.each(PROVIDERS_UNDER_TEST)('attribution rules of the database on %s', (provider) => {
  async function seeded() {
    const t = await fresh(provider);
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const p = db.prisma;
    const mk = (name: string) =>
      p.model.create({ data: { name, provider: 'simulated', providerModel: name, params: {} } });
    const [a, b] = [await mk('sim-a'), await mk('sim-b')];
    const set = await p.promptSet.create({ data: { name: 'set', prompts: { create: [{ index: 0, input: 'hi' }] } } });
    const run = await p.run.create({ data: { promptSetId: set.id, concurrency: 1 } });
    await p.runModel.create({
      data: {
        runId: run.id,
        modelId: a.id,
        position: 0,
        name: a.name,
        provider: a.provider,
        providerModel: a.providerModel,
        params: {},
        modelRevision: a.revision,
      },
    });
    return { db, p, a, b, run };
  }

  const trace = (runId: string, modelId: string) => ({
    runId,
    modelId,
    modelRevision: 1,
    provider: 'simulated',
    requestedModel: 'x',
    attribution: 'match',
    status: 'ok',
    startedAt: new Date(),
    input: 'hi',
  });

  it('rejects a Trace whose (runId, modelId) is not a RunModel of that run', async () => {
    const { p, a, b, run } = await seeded();
    await expect(p.trace.create({ data: trace(run.id, a.id) })).resolves.toBeTruthy();
    await expect(p.trace.create({ data: trace(run.id, b.id) })).rejects.toThrow(/foreign key/i);
    expect(await p.trace.count({ where: { modelId: b.id } })).toBe(0);
  });

  it('rejects a RunItem for a model the run does not target, and a duplicate work-item key', async () => {
    const { p, a, b, run } = await seeded();
    const item = { runId: run.id, modelId: a.id, promptIndex: 0, repeatIndex: 0 };
    await p.runItem.create({ data: item });
    await expect(p.runItem.create({ data: item })).rejects.toThrow(/unique/i);
    await expect(p.runItem.create({ data: { ...item, modelId: b.id } })).rejects.toThrow(/foreign key/i);
    expect(await p.runItem.count()).toBe(1);
  });

  it('rejects an assistant Message naming a model its run does not target', async () => {
    const { p, a, b, run } = await seeded();
    const conv = await p.conversation.create({ data: { runId: run.id, modelId: a.id } });
    await expect(
      p.message.create({
        data: { conversationId: conv.id, role: 'assistant', content: 'x', runId: run.id, modelId: b.id },
      }),
    ).rejects.toThrow(/foreign key/i);
    await expect(p.conversation.create({ data: { runId: run.id, modelId: b.id } })).rejects.toThrow(/foreign key/i);
  });
});

describe('createDb', () => {
  it('turns WAL on for SQLite', async () => {
    const t = await fresh('sqlite');
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const rows = await db.prisma.$queryRawUnsafe<Array<{ journal_mode: string }>>('PRAGMA journal_mode');
    expect(rows[0]!.journal_mode).toBe('wal');
    expect(db.provider).toBe('sqlite');
  });

  it('checkpoints the SQLite WAL from its worker, not in the committing connection', async () => {
    const t = await fresh('sqlite');
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    const file = parseDbUrl(t.url).file!;
    const rows = await db.prisma.$queryRawUnsafe<Array<{ wal_autocheckpoint: bigint }>>('PRAGMA wal_autocheckpoint');
    expect(Number(rows[0]!.wal_autocheckpoint)).toBe(0);
    const before = statSync(file).size;
    // About 8 MB of committed pages: past SQLite's own 1,000-page threshold, which is off here.
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 80; i++) await db.prisma.promptSet.create({ data: { name: `set ${i} ${big}` } });
    // Only a checkpoint moves pages from the WAL into the database file.
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 4_000_000), {
      timeout: 5_000,
      interval: 50,
    });
  });

  it('picks PostgreSQL for postgresql:// URLs and refuses anything else by name', async () => {
    const t = await fresh('postgresql');
    await migrate(t.url);
    const db = await createDb(t.url);
    cleanups.push(() => db.close());
    expect(db.provider).toBe('postgresql');
    expect(await db.prisma.model.count()).toBe(0);
    await expect(createDb('mysql://x')).rejects.toThrow(/DATABASE_URL/);
  });
});
