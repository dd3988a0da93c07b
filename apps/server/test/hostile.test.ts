// Requests as an attacker sends them, over raw sockets, to the real server process: none of them
// may end the process, each gets a 4xx, and the server answers /trpc/health afterwards. Then the
// Host and Origin checks, the token rules, the security headers and the body limit.
import net from 'node:net';
import { type TempDatabase, tempSqlite } from '@batchlight/db/testing';
import { sendLargeBody } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningProcess, startServerProcess } from '../src/testing.js';

const TOKEN = 'hostile-test-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };

/**
 * Sends `text` as it is and returns everything the server wrote before it closed (or 5 s; with
 * `timeoutMs` short, an upgraded socket that stays open is read until then).
 */
function raw(port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(data);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) done(); // upgraded: that is the answer
    });
    s.on('close', done);
    s.on('error', done);
  });
}
const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const upgradeHeaders =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('the server process under hostile requests (token set)', () => {
  let db: TempDatabase;
  let server: RunningProcess;
  let port: number;
  const exits: Array<number | null> = [];
  beforeAll(async () => {
    db = tempSqlite();
    server = await startServerProcess({ DATABASE_URL: db.url, BATCHLIGHT_TOKEN: TOKEN, BATCHLIGHT_SEED: '0' });
    server.child.on('exit', (code) => exits.push(code));
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const health = async () => (await fetch(`${server.url}/trpc/health`, { headers: bearer })).status;

  it('answers every crash input of issue 13 with a 4xx and stays up', async () => {
    const host = `Host: 127.0.0.1:${port}\r\n`;
    const inputs: Array<[string, string, number[]]> = [
      ['upgrade whose target is not a URL', `GET http://[ HTTP/1.1\r\n${host}${upgradeHeaders}\r\n`, [400]],
      [
        'upgrade with an undecodable token cookie',
        `GET /ws HTTP/1.1\r\n${host}${upgradeHeaders}Cookie: batchlight_token=%E0%A4%A\r\n\r\n`,
        [401],
      ],
      [
        'HTTP with an undecodable token cookie',
        `GET /trpc/health HTTP/1.1\r\n${host}Cookie: batchlight_token=%E0%A4%A\r\nConnection: close\r\n\r\n`,
        [401],
      ],
      [
        'a path that does not decode',
        `GET /%E0%A4%A HTTP/1.1\r\n${host}Authorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        [400],
      ],
      [
        'HTTP whose target is not a URL',
        `GET http://[ HTTP/1.1\r\n${host}Authorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        [400],
      ],
      [
        'a cookie header of garbage',
        `GET /trpc/health HTTP/1.1\r\n${host}Cookie: ;;=;%;batchlight_token;=%%\r\nConnection: close\r\n\r\n`,
        [401],
      ],
      [
        'no Host header',
        `GET /trpc/health HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        [400, 421],
      ],
      ['an upgrade to another path', `GET /not-ws HTTP/1.1\r\n${host}${upgradeHeaders}\r\n`, [400, 404]],
      [
        'an upgrade with no key',
        `GET /ws HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
        [400],
      ],
      ['an asterisk target', `OPTIONS * HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, [400, 401, 404, 405]],
    ];
    for (const [what, text, expected] of inputs) {
      const response = await raw(port, text);
      expect(expected, `${what}: ${response.split('\r\n')[0]}`).toContain(status(response));
      expect(await health(), `health after: ${what}`).toBe(200);
    }
    expect(exits).toEqual([]);
  });

  it('refuses a foreign Host before any procedure runs, and a foreign Origin on HTTP and WebSocket', async () => {
    const body = JSON.stringify({ json: { name: 'rebound', prompts: [{ input: 'hi' }] } });
    const post = (headers: Record<string, string>) => {
      const all = {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${TOKEN}`,
        Connection: 'close',
        'Content-Length': String(body.length),
        ...headers,
      };
      return raw(
        port,
        `POST /trpc/promptSets.create HTTP/1.1\r\n${Object.entries(all)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n${body}`,
      );
    };
    // The same request from an allowed place is written: the refusals below are the checks'.
    expect(status(await post({ Host: `127.0.0.1:${port}` }))).toBe(200);
    const before = await fetch(`${server.url}/trpc/promptSets.list`, { headers: bearer }).then((r) => r.json());
    expect(status(await post({ Host: 'rebind.evil.example' }))).toBe(421);
    expect(status(await post({ Host: `rebind.evil.example:${port}` }))).toBe(421);
    expect(status(await post({ Host: `127.0.0.1:${port}`, Origin: 'http://evil.example' }))).toBe(403);
    expect(status(await post({ Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port + 1}` }))).toBe(403);
    expect(status(await post({ Host: `127.0.0.1:${port}`, Origin: 'null' }))).toBe(403);
    const after = await fetch(`${server.url}/trpc/promptSets.list`, { headers: bearer }).then((r) => r.json());
    expect(after).toEqual(before);

    const ws = (headers: string) =>
      raw(port, `GET /ws HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\n${upgradeHeaders}${headers}\r\n`, 2_000);
    expect(status(await ws(`Host: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\n`))).toBe(403);
    expect(status(await ws(`Host: 127.0.0.1:${port}\r\nOrigin: http://localhost:${port + 1}\r\n`))).toBe(403);
    expect(status(await ws(`Host: rebind.evil.example:${port}\r\n`))).toBe(421);
    // Same origin, and no Origin at all (CLI, scripts), are let through.
    expect(status(await ws(`Host: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n`))).toBe(101);
    expect(status(await ws(`Host: localhost:${port}\r\n`))).toBe(101);
    expect(
      status(
        await raw(
          port,
          `GET /trpc/health HTTP/1.1\r\nHost: [::1]:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        ),
      ),
    ).toBe(200);
  });

  it('takes the token on /trpc only as a Bearer header; ?token= only sets the monitor cookie', async () => {
    expect((await fetch(`${server.url}/trpc/health?token=${TOKEN}`)).status).toBe(401);
    const first = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${server.url}/trpc/health`, { headers: { cookie } })).status).toBe(200);
    expect(await health()).toBe(200);
  });

  it('sends security headers on the monitor and the API', async () => {
    for (const path of ['/', '/assets/nothing.js', '/trpc/health']) {
      const res = await fetch(`${server.url}${path}`, { headers: bearer });
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
    }
    const csp = (await fetch(`${server.url}/`, { headers: bearer })).headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).not.toMatch(/unsafe-eval|\*/);
  });
});

describe('refusing to start with a weak token', () => {
  const start = (env: NodeJS.ProcessEnv) =>
    startServerProcess({ BATCHLIGHT_SEED: '0', DATABASE_URL: 'file:/nonexistent/never.db', ...env }).then(
      async (p) => {
        await p.stop();
        return 'started';
      },
      (err: Error) => err.message,
    );

  it('refuses a token shorter than 16 characters or with whitespace, naming the variable', async () => {
    for (const token of ['a', ' ', 'short-token', 'has whitespace in the middle']) {
      const out = await start({ HOST: '0.0.0.0', BATCHLIGHT_TOKEN: token });
      expect(out, JSON.stringify(token)).toMatch(/cannot start: BATCHLIGHT_TOKEN: /);
    }
  });
});

describe('the request body limit', () => {
  let db: TempDatabase;
  let server: RunningProcess;
  beforeAll(async () => {
    db = tempSqlite();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      BATCHLIGHT_SEED: '0',
      BATCHLIGHT_MAX_BODY_BYTES: String(1024 * 1024),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const send = (path: string, total: number, declared: boolean) =>
    sendLargeBody(`${server.url}${path}`, total, { declared });

  it('answers 413 naming the limit, without reading a large body to its end', async () => {
    const declared = await send('/trpc/promptSets.create', 50 * 1024 * 1024, true);
    expect(declared.status).toBe(413);
    expect(declared.body).toMatch(/BATCHLIGHT_MAX_BODY_BYTES/);
    const chunked = await send('/trpc/promptSets.create', 50 * 1024 * 1024, false);
    expect(chunked.status).toBe(413);
    expect(chunked.sent).toBeLessThan(50 * 1024 * 1024);
    const importing = await send('/trpc/promptSets.import', 5 * 1024 * 1024, true);
    expect(importing.status).toBe(413);
    expect(importing.body).toMatch(/split/);
    expect((await fetch(`${server.url}/trpc/health`)).status).toBe(200);
    const sets = (await fetch(`${server.url}/trpc/promptSets.list`).then((r) => r.json())) as {
      result: { data: { json: unknown[] } };
    };
    expect(sets.result.data.json).toEqual([]);
  });

  it('closes a WebSocket that sends a message over the limit (1009)', async () => {
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
      ws.on('open', () => ws.send(Buffer.alloc(2 * 1024 * 1024, 0x20)));
      ws.on('close', (c) => resolve(c));
      ws.on('error', () => undefined);
    });
    expect(code).toBe(1009);
    expect((await fetch(`${server.url}/trpc/health`)).status).toBe(200);
  });

  it('keeps RSS bounded and health answering under three concurrent 500 MB bodies', async () => {
    const before = server.peakRssMb();
    const bodies = Promise.all([0, 1, 2].map(() => send('/trpc/promptSets.create', 500 * 1024 * 1024, false)));
    const healthy = await fetch(`${server.url}/trpc/health`);
    expect(healthy.status).toBe(200);
    const results = await bodies;
    for (const r of results) {
      expect(r.status).toBe(413);
      expect(r.sent).toBeLessThan(500 * 1024 * 1024);
    }
    // Generous: the measured figures are in the report; this catches a body being buffered.
    expect(server.peakRssMb()).toBeLessThan(Math.max(before, 150) + 150);
  });
});
