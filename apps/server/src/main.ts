// `pnpm start`: the server on HOST:PORT (default http://127.0.0.1:4700) with the database at
// DATABASE_URL (default SQLite under ./data/). Started with the Node flags of node-flags.ts.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

// Relative paths (DATABASE_URL=file:./data/…) mean where the user typed the command, not the
// package folder pnpm runs this in.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

// The built monitor, found through its package (a dependency of this one).
const monitorDir = dirname(fileURLToPath(import.meta.resolve('@batchlight/monitor/index.html')));

try {
  const config = loadConfig(process.env, monitorDir);
  const server = await startServer(config);
  console.log(
    `[batchlight] listening on ${server.url}  (monitor: ${server.url}/, API: ${server.url}/trpc, WebSocket: ${server.url.replace('http', 'ws')}/ws)`,
  );
  // The first signal drains: no call starts, calls in flight finish (up to the grace) and are
  // committed, so a restart sends none of them again. A second signal cuts them off at once.
  let signals = 0;
  const stop = (signal: string) => {
    if (signals++) {
      console.log(`[batchlight] ${signal} again: cutting off the calls in flight (sent again at the next start)`);
      void server.close({ graceMs: 0 });
      return;
    }
    console.log(
      `[batchlight] ${signal}: stopping; no new call starts, calls in flight get up to ${config.shutdownGraceMs} ms ` +
        'to finish (send it again to cut them off); runs resume at the next start',
    );
    server.close({ graceMs: config.shutdownGraceMs }).then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  console.error(`[batchlight] cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
