// Applies the committed SQL migrations (prisma/migrations/<provider>/<ts>_<name>/migration.sql)
// and records them in `_prisma_migrations` exactly as `prisma migrate deploy` does, so the Prisma
// CLI and Studio accept the database. The native engine that would do this cannot be downloaded
// here; this runner needs only the database drivers.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type DbProvider, parseDbUrl } from './url.js';

// The package's own prisma/ (from src/ in tests and dist/ when built alike).
export const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations/', import.meta.url));
const PG_LOCK_KEY = 72707369; // the advisory lock key Prisma's engine takes

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  provider: DbProvider;
  applied: string[];
  alreadyApplied: number;
  /** Applied migrations whose file changed since: reported, never re-run (as Prisma deploy). */
  modified: string[];
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

const dirFor = (provider: DbProvider) => (provider === 'sqlite' ? 'sqlite' : 'postgres');

export function readMigrations(provider: DbProvider, root = MIGRATIONS_DIR): MigrationFile[] {
  const dir = join(root, dirFor(provider));
  if (!existsSync(dir)) throw new MigrationError(`no migrations folder at ${dir}`);
  const lock = join(dir, 'migration_lock.toml');
  if (existsSync(lock)) {
    const locked = /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lock, 'utf8'))?.[1];
    if (locked && locked !== provider) {
      throw new MigrationError(`${lock} is for provider "${locked}", not "${provider}"`);
    }
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
  logs: string | null;
}

/** The small set of operations the runner needs from each database. */
interface Target {
  provider: DbProvider;
  ensureTable(): Promise<void>;
  rows(): Promise<AppliedRow[]>;
  /** Runs the migration script atomically; throws on error with nothing of it left applied. */
  apply(m: MigrationFile, id: string): Promise<void>;
  recordStart(m: MigrationFile, id: string): Promise<void>;
  recordFinish(id: string): Promise<void>;
  recordFailure(id: string, logs: string): Promise<void>;
  close(): Promise<void>;
}

export async function migrate(url?: string, options: { dir?: string } = {}): Promise<MigrateResult> {
  const parsed = parseDbUrl(url);
  const migrations = readMigrations(parsed.provider, options.dir);
  const target = parsed.provider === 'sqlite' ? sqliteTarget(parsed.file!) : await postgresTarget(parsed.url);
  try {
    await target.ensureTable();
    const rows = await target.rows();
    const failed = rows.find((r) => r.finished_at == null && r.rolled_back_at == null);
    if (failed) {
      throw new MigrationError(
        `migration ${failed.migration_name} failed earlier and is not resolved; fix the database, then mark it rolled back ` +
          `(prisma migrate resolve --rolled-back ${failed.migration_name}) before applying more.` +
          (failed.logs ? `\n${failed.logs}` : ''),
        failed.migration_name,
      );
    }
    const done = new Map(rows.filter((r) => r.finished_at != null).map((r) => [r.migration_name, r.checksum]));
    const result: MigrateResult = { provider: parsed.provider, applied: [], alreadyApplied: 0, modified: [] };
    for (const m of migrations) {
      const checksum = done.get(m.name);
      if (checksum !== undefined) {
        result.alreadyApplied++;
        if (checksum !== m.checksum) result.modified.push(m.name);
        continue;
      }
      const id = randomUUID();
      await target.recordStart(m, id);
      try {
        await target.apply(m, id);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await target.recordFailure(id, `Migration ${m.name} failed:\n${message}`);
        throw new MigrationError(`migration ${m.name} failed: ${message}`, m.name);
      }
      await target.recordFinish(id);
      result.applied.push(m.name);
    }
    return result;
  } finally {
    await target.close();
  }
}

function sqliteTarget(file: string): Target {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  // Prisma stores SQLite timestamps in _prisma_migrations as epoch milliseconds.
  const now = () => Date.now();
  return {
    provider: 'sqlite',
    async ensureTable() {
      db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`);
    },
    async rows() {
      return db.prepare('SELECT * FROM "_prisma_migrations" ORDER BY started_at').all() as AppliedRow[];
    },
    async recordStart(m, id) {
      db.prepare(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)',
      ).run(id, m.checksum, m.name, now());
    },
    async apply(m) {
      // One transaction: a failing statement leaves nothing of the migration behind. Prisma's
      // table-redefinition scripts use defer_foreign_keys, which works inside a transaction.
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(m.sql);
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    },
    async recordFinish(id) {
      db.prepare(
        'UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = applied_steps_count + 1 WHERE id = ?',
      ).run(now(), id);
    },
    async recordFailure(id, logs) {
      db.prepare('UPDATE "_prisma_migrations" SET logs = ? WHERE id = ?').run(logs, id);
    },
    async close() {
      db.close();
    },
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // One migrator at a time, whichever process (or Prisma CLI) gets there first.
  await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK_KEY]);
  return {
    provider: 'postgresql',
    async ensureTable() {
      await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`);
    },
    async rows() {
      return (await client.query<AppliedRow>('SELECT * FROM "_prisma_migrations" ORDER BY started_at')).rows;
    },
    async recordStart(m, id) {
      await client.query(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
        [id, m.checksum, m.name],
      );
    },
    async apply(m) {
      // PostgreSQL DDL is transactional: a failure rolls the whole migration back.
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
    async recordFinish(id) {
      await client.query(
        'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1',
        [id],
      );
    },
    async recordFailure(id, logs) {
      await client.query('UPDATE "_prisma_migrations" SET logs = $1 WHERE id = $2', [logs, id]);
    },
    async close() {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_LOCK_KEY]).catch(() => undefined);
      await client.end();
    },
  };
}
