import { isAbsolute, resolve } from 'node:path';

export type DbProvider = 'sqlite' | 'postgresql';

export const DEFAULT_DATABASE_URL = 'file:./data/batchlight.db';

export interface ParsedDbUrl {
  provider: DbProvider;
  url: string;
  /** SQLite only: the absolute path of the database file. */
  file?: string;
}

/** `file:` picks SQLite (relative paths from the working directory), `postgres(ql)://` PostgreSQL. */
export function parseDbUrl(url: string = DEFAULT_DATABASE_URL): ParsedDbUrl {
  if (url.startsWith('file:')) {
    let path = url.slice('file:'.length);
    if (path.startsWith('//')) path = path.slice(2); // file:///abs/path
    path = path.split('?')[0] ?? path;
    if (!path) throw new Error('DATABASE_URL: a file: URL needs a path, e.g. file:./data/batchlight.db');
    const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
    return { provider: 'sqlite', url: `file:${file}`, file };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { provider: 'postgresql', url };
  throw new Error('DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)');
}

/** The URL with any password replaced, safe to print. */
export function redactDbUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
