// Which database `batchlight studio` opens, and where the repository (packages/db) is.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/** The repository checkout this CLI was built in (apps/cli/dist/main.js → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The database Studio should open, as a URL with an absolute path: --database, else DATABASE_URL,
 * else the server's default (`file:./data/batchlight.db` under the repository root, where
 * `pnpm start` runs it). A relative `file:` path is taken from the directory the user is in.
 */
export function studioDatabaseUrl(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = given ?? env.DATABASE_URL;
  if (!raw) return `file:${resolve(REPO_ROOT, 'data/batchlight.db')}`;
  if (/^postgres(ql)?:\/\//.test(raw)) return raw;
  if (!raw.startsWith('file:'))
    throw new CliError(`--database: expected file:PATH (SQLite) or postgresql://… (PostgreSQL), got "${raw}"`);
  let path = raw.slice('file:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (!path) throw new CliError('--database: a file: URL needs a path, e.g. file:./data/batchlight.db');
  return `file:${isAbsolute(path) ? path : resolve(env.INIT_CWD || process.cwd(), path)}`;
}
