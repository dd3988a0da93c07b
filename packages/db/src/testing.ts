// Throwaway databases for tests: a fresh SQLite file, or a fresh PostgreSQL database on the
// local server that is dropped afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TempDatabase {
  provider: 'sqlite' | 'postgresql';
  url: string;
  drop(): Promise<void>;
}

export function tempSqlite(): TempDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'batchlight-test-'));
  return {
    provider: 'sqlite',
    url: `file:${join(dir, 'test.db')}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function tempPostgres(): Promise<TempDatabase> {
  const name = `batchlight_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    provider: 'postgresql',
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Both providers, for `describe.each`. */
export const PROVIDERS_UNDER_TEST = ['sqlite', 'postgresql'] as const;
export function tempDatabase(provider: 'sqlite' | 'postgresql'): Promise<TempDatabase> {
  return provider === 'sqlite' ? Promise.resolve(tempSqlite()) : tempPostgres();
}
