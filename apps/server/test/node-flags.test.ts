// The server's Node flags are a startup option written twice by nature: in the start script
// (package.json, what `pnpm start` runs) and in SERVER_NODE_FLAGS (what every launcher passes).
// They must agree, and a launched server must run with them.
import { readFileSync } from 'node:fs';
import { tempSqlite } from '@batchlight/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../src/node-flags.js';
import { startServerProcess } from '../src/testing.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const db = tempSqlite();
afterAll(() => db.drop());

describe("the server's Node flags", () => {
  it('are the ones the start script passes', () => {
    expect(pkg.scripts.start).toBe(`node ${SERVER_NODE_FLAGS.join(' ')} dist/main.js`);
  });

  it('are on the command line of a server started by the launcher, before its script', async () => {
    const server = await startServerProcess({ DATABASE_URL: db.url, BATCHLIGHT_SEED: '0' }, ['--stack-size=2000']);
    try {
      const argv = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const script = argv.findIndex((a) => a.endsWith('/dist/main.js'));
      expect(argv.slice(1, script)).toEqual([...SERVER_NODE_FLAGS, '--stack-size=2000']);
    } finally {
      await server.stop();
    }
  });
});
