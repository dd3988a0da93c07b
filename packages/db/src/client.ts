import type { Db } from './db.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import { parseDbUrl } from './url.js';

/** Opens the database named by `url`: SQLite for `file:` (WAL on), PostgreSQL for `postgresql://`. */
export async function createDb(url?: string): Promise<Db> {
  const parsed = parseDbUrl(url);
  return parsed.provider === 'sqlite' ? openSqlite(parsed.url, parsed.file!) : openPostgres(parsed.url);
}
