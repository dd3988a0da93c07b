import { isAbsolute, resolve } from 'node:path';

export type DbProvider = 'sqlite' | 'postgresql';

export const DEFAULT_DATABASE_URL = 'file:./data/batchlight.db';

export interface ParsedDbUrl {
  provider: DbProvider;
  url: string;
  /** SQLite only: the absolute path of the database file. */
  file?: string;
}

/** The path of a `file:` URL (`file:./x.db`, `file:///abs/x.db`), without its query. */
const filePath = (url: string) => {
  const path = url.slice('file:'.length);
  return (path.startsWith('//') ? path.slice(2) : path).split('?')[0] ?? '';
};

/** What is wrong with a database URL, or null. */
export function databaseUrlProblem(url: string): string | null {
  if (url.startsWith('file:')) return filePath(url) ? null : 'a file: URL needs a path, e.g. file:./data/batchlight.db';
  if (/^postgres(ql)?:\/\//.test(url)) return null;
  return 'must start with file: (SQLite) or postgresql:// (PostgreSQL)';
}

/** `file:` picks SQLite (a relative path is taken from `base`), `postgres(ql)://` PostgreSQL. */
export function parseDbUrl(url: string = DEFAULT_DATABASE_URL, base: string = process.cwd()): ParsedDbUrl {
  const problem = databaseUrlProblem(url);
  if (problem) throw new Error(`DATABASE_URL: ${problem}`);
  if (!url.startsWith('file:')) return { provider: 'postgresql', url };
  const path = filePath(url);
  const file = isAbsolute(path) ? path : resolve(base, path);
  return { provider: 'sqlite', url: `file:${file}`, file };
}

/** The URL with any password replaced, safe to print. */
export function redactDbUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
