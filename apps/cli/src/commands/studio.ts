// `batchlight studio`: Prisma Studio on the database, through the db package's script (it migrates
// first). Which database: --database, else the DATABASE_URL setting (read through the database
// package's schema), else the server's default under the repository root.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DATABASE_URL, databaseUrlSetting, parseDbUrl, redactDbUrl } from '@batchlight/db/settings';
import { z } from 'zod';
import { defineCommand, wholeNumber } from '../args.js';
import { CliError, EXIT } from '../errors.js';

/** The repository checkout this CLI was built in (apps/cli/dist/commands/studio.js → ../../../../). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const STUDIO_PORT = 5555;
const port = z.number().int().min(1, 'must be between 1 and 65535').max(65_535, 'must be between 1 and 65535');

/**
 * The database Studio should open, as a URL with an absolute path: `given` (--database), else
 * DATABASE_URL, else the server's default (`file:./data/batchlight.db` under the repository root,
 * where `pnpm start` runs it). A relative `file:` path is taken from the directory the user is in.
 */
export function studioDatabaseUrl(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let url: string | undefined;
  if (given !== undefined) {
    if (!databaseUrlSetting.safeParse(given).success)
      throw new CliError(`--database: expected file:PATH (SQLite) or postgresql://… (PostgreSQL), got "${given}"`);
    url = given;
  } else {
    const setting = z.object({ DATABASE_URL: databaseUrlSetting }).safeParse(env);
    if (!setting.success) throw new CliError(`DATABASE_URL: ${setting.error.issues[0]!.message}`);
    url = setting.data.DATABASE_URL;
  }
  // The server's default is relative to where `pnpm start` runs: the repository root.
  if (url === undefined) return parseDbUrl(DEFAULT_DATABASE_URL, REPO_ROOT).url;
  return parseDbUrl(url, env.INIT_CWD || process.cwd()).url;
}

export const studio = defineCommand({
  name: 'studio',
  usage: `[--database URL] [--port N=${STUDIO_PORT}]`,
  description:
    'Prisma Studio on the database (--database, else DATABASE_URL, else the server’s default\n' +
    'data/batchlight.db in the repository); needs this repository and pnpm',
  options: ['database', 'port'],
  offline: true,
  run(ctx, v) {
    if (!existsSync(join(REPO_ROOT, 'packages/db/package.json')))
      throw new CliError('studio needs the batchlight repository (packages/db) next to the CLI');
    const url = studioDatabaseUrl(v.database);
    const studioPort = String(wholeNumber('port', v.port, port) ?? STUDIO_PORT);
    const file = url.startsWith('file:') ? url.slice('file:'.length) : null;
    if (file && !existsSync(file) && !ctx.json)
      console.error(`batchlight: note: ${file} does not exist yet; it will be created empty`);
    const shown = redactDbUrl(url);
    if (ctx.json) console.log(JSON.stringify({ studio: `http://localhost:${studioPort}`, database: shown }));
    else console.error(`batchlight: Prisma Studio on ${shown} at http://localhost:${studioPort} (Ctrl-C to stop)`);
    return runStudio({ ...process.env, DATABASE_URL: url, STUDIO_PORT: studioPort });
  },
});

/** `pnpm --filter @batchlight/db studio` in its own process group, stopped as a whole on Ctrl-C or SIGTERM. */
function runStudio(env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn('pnpm', ['--silent', '--filter', '@batchlight/db', 'studio'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env,
    detached: true,
  });
  const stop = (signal: NodeJS.Signals) => () => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', stop('SIGINT')).on('SIGTERM', stop('SIGTERM'));
  return new Promise((done) => {
    child.on('error', (err) => {
      const cause = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'pnpm is not on PATH' : err.message;
      console.error(`batchlight: cannot start Prisma Studio: ${cause}`);
      done(EXIT.server);
    });
    child.on('exit', (code, signal) => done(signal === 'SIGINT' || signal === 'SIGTERM' ? EXIT.ok : (code ?? 0)));
  });
}
