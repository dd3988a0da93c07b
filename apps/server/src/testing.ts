// `@batchlight/server/testing`: the built server as its own process, started as `pnpm start`
// starts it (its Node flags included), for the tests of the server, the CLI and the monitor, and
// for bench.
import { fileURLToPath } from 'node:url';
import { type RunningProcess, spawnUntilReady } from '@batchlight/testkit';
import { SERVER_NODE_FLAGS } from './node-flags.js';

export type { RunningProcess };
export { SERVER_NODE_FLAGS };

/** The built entry point (the same from src/, where the server's own tests import this, and dist/). */
export const SERVER_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/**
 * The server on a free port of 127.0.0.1 with the given environment (DATABASE_URL at least; HOST
 * and PORT may be overridden). `nodeArgs` go after the server's own flags (e.g. --cpu-prof).
 */
export function startServerProcess(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<RunningProcess> {
  return spawnUntilReady(
    [...SERVER_NODE_FLAGS, ...nodeArgs, SERVER_MAIN],
    { PORT: '0', HOST: '127.0.0.1', INIT_CWD: '', ...env },
    /listening on (http:\/\/[\d.:]+)/,
  );
}
