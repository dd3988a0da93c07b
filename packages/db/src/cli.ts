// `pnpm db:migrate` and `pnpm db:studio`: the configured database is DATABASE_URL or the default,
// read through the same schema as the server's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate } from './migrate.js';
import { databaseUrlFrom } from './settings.js';
import { parseDbUrl, redactDbUrl } from './url.js';

// A relative DATABASE_URL means where the user ran `pnpm db:…`, as for the server.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const [command] = process.argv.slice(2);

try {
  const url = databaseUrlFrom(process.env);
  if (command === 'migrate') {
    const r = await migrate(url);
    for (const name of r.applied) console.log(`applied ${name}`);
    for (const name of r.modified) console.warn(`warning: ${name} changed after it was applied (not re-run)`);
    console.log(`${redactDbUrl(url)}: ${r.applied.length} applied, ${r.alreadyApplied} already applied`);
  } else if (command === 'studio') {
    await migrate(url);
    const parsed = parseDbUrl(url);
    // Studio wants a URL with "://": an absolute file:/// path for SQLite.
    const studioUrl = parsed.provider === 'sqlite' ? `file://${parsed.file}` : parsed.url;
    const port = process.env.STUDIO_PORT ?? '5555';
    const prismaCli = fileURLToPath(new URL('../scripts/prisma.mjs', import.meta.url));
    const child = spawn(
      process.execPath,
      [prismaCli, 'studio', '--port', port, '--browser', 'none', '--url', studioUrl],
      {
        stdio: 'inherit',
      },
    );
    child.on('exit', (code) => process.exit(code ?? 0));
  } else {
    console.error('usage: batchlight-db migrate|studio');
    process.exit(2);
  }
} catch (err) {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
