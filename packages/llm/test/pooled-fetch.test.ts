import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyError } from '../src/index.js';
import { createPooledFetch } from '../src/providers/pooled-fetch.js';
import { type Handler, sleep, startServer, type TinyServer, until } from './server.js';

let server: TinyServer;
let handler: Handler = (_req, res) => res.end('ok');
const pooled = createPooledFetch();

beforeAll(async () => {
  server = await startServer((req, res, body) => handler(req, res, body));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  handler = (_req, res) => res.end('ok');
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('createPooledFetch', () => {
  it('sends method, headers and body as given; string, URL and Request inputs; no accept-encoding', async () => {
    handler = (req, res, body) => {
      res.writeHead(201, 'Made', { 'x-echo': String(body.length), 'set-cookie': ['a=1', 'b=2'] });
      res.end(`${req.method} ${req.url} ${body.toString()}`);
    };
    const r = await pooled(`${server.url}/a?q=1`, {
      method: 'post',
      headers: { 'X-One': '1', Authorization: 'Bearer k' },
      body: 'héllo',
    });
    expect(r).toBeInstanceOf(Response);
    expect([r.status, r.statusText, r.ok]).toEqual([201, 'Made', true]);
    expect(r.headers.get('x-echo')).toBe('6');
    expect(r.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await r.text()).toBe('POST /a?q=1 héllo');
    const h = server.requests[0]!.headers;
    expect(h['x-one']).toBe('1');
    expect(h.authorization).toBe('Bearer k');
    expect(h['content-type']).toBe('text/plain;charset=UTF-8');
    expect(h['content-length']).toBe('6');
    expect(h['accept-encoding']).toBeUndefined();

    const bytes = new Uint8Array([1, 2, 3, 250]);
    await (
      await pooled(new URL(`${server.url}/b`), {
        method: 'PUT',
        headers: new Headers({ 'content-type': 'application/octet-stream' }),
        body: bytes,
      })
    ).text();
    await (await pooled(`${server.url}/c`, { method: 'POST', body: bytes.buffer })).text();
    await (
      await pooled(
        new Request(`${server.url}/d`, {
          method: 'POST',
          body: '{"x":1}',
          headers: { 'content-type': 'application/json' },
        }),
      )
    ).text();
    await (await pooled(`${server.url}/e`)).text();
    const [b, c, d, e] = server.requests.slice(1);
    expect([b!.method, b!.url, [...b!.body], b!.headers['content-type']]).toEqual([
      'PUT',
      '/b',
      [1, 2, 3, 250],
      'application/octet-stream',
    ]);
    expect([c!.method, [...c!.body]]).toEqual(['POST', [1, 2, 3, 250]]);
    expect([d!.method, d!.url, d!.body.toString(), d!.headers['content-type']]).toEqual([
      'POST',
      '/d',
      '{"x":1}',
      'application/json',
    ]);
    expect([e!.method, e!.body.length]).toEqual(['GET', 0]);
  });

  it('beforeSend is awaited on a connected socket, then the request is written, then sent() is called', async () => {
    const order: string[] = [];
    const init = (abort?: AbortController) => ({
      method: 'POST',
      body: 'x',
      signal: abort?.signal,
      beforeSend: async () => {
        order.push('beforeSend');
        await sleep(5);
        abort?.abort(new Error('stop'));
        order.push(`waited (${server.requests.length} seen)`);
      },
      sent: () => order.push('sent'),
    });
    expect(await (await pooled(`${server.url}/paced`, init())).text()).toBe('ok');
    expect(order).toEqual(['beforeSend', 'waited (0 seen)', 'sent']);
    expect(server.requests.map((r) => r.url)).toEqual(['/paced']);

    // Aborted while beforeSend waits: nothing is written, and sent() is never called.
    order.length = 0;
    await expect(pooled(`${server.url}/never`, init(new AbortController()))).rejects.toThrow('stop');
    await sleep(20);
    expect(order).toEqual(['beforeSend', 'waited (1 seen)']);
    expect(server.requests.map((r) => r.url)).toEqual(['/paced']);
  });

  it('abort before the request: rejects with the reason, sends nothing', async () => {
    const reason = new Error('stop now');
    await expect(
      pooled(`${server.url}/x`, { method: 'POST', body: 'x', signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    const d = await pooled(`${server.url}/x`, { signal: AbortSignal.abort() }).catch((e) => e);
    expect(d.name).toBe('AbortError');
    await sleep(20);
    expect(server.requests).toHaveLength(0);
  });

  it('abort while waiting for the headers: rejects with the reason, the socket is closed', async () => {
    handler = () => {}; // never answers
    const closedBefore = server.closedConnections();
    const ac = new AbortController();
    const reason = new Error('cancelled');
    const p = pooled(`${server.url}/hang`, { method: 'POST', body: 'x', signal: ac.signal });
    await until(() => server.requests.length === 1);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    await until(() => server.closedConnections() > closedBefore);
  });

  it('abort while the body streams: the body errors with the reason, the socket is closed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    };
    const closedBefore = server.closedConnections();
    const ac = new AbortController();
    const reason = new Error('cancelled mid-body');
    const r = await pooled(`${server.url}/stream`, { method: 'POST', body: 'x', signal: ac.signal });
    const reader = r.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    ac.abort(reason);
    await expect(reader.read()).rejects.toBe(reason);
    await until(() => server.closedConnections() > closedBefore);
  });

  it('cancelling the body closes the socket (a half-read socket never goes back to the pool)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    };
    const f = createPooledFetch();
    const closedBefore = server.closedConnections();
    const r = await f(`${server.url}/stream`, { method: 'POST', body: 'x' });
    const reader = r.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => server.closedConnections() > closedBefore);
    handler = (_req, res) => res.end('ok');
    expect(await (await f(`${server.url}/after`)).text()).toBe('ok');
  });

  it('a body cut by the server errors like fetch: TypeError terminated → connection', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => res.socket!.destroy());
    };
    const r = await pooled(`${server.url}/cut`, { method: 'POST', body: 'x' });
    const err = await r.text().catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('terminated');
    expect(classifyError(err).type).toBe('connection');
  });

  it('connection refused: the same TypeError and classification as the global fetch', async () => {
    const url = `http://127.0.0.1:${await deadPort()}/v1/chat/completions`;
    const ours = await pooled(url, { method: 'POST', body: '{}' }).catch((e) => e);
    const theirs = await fetch(url, { method: 'POST', body: '{}' }).catch((e) => e);
    expect(ours).toBeInstanceOf(TypeError);
    expect(ours.message).toBe(theirs.message);
    expect(ours.cause.code).toBe('ECONNREFUSED');
    expect(theirs.cause.code).toBe('ECONNREFUSED');
    expect(classifyError(ours)).toEqual(classifyError(theirs));
    expect(classifyError(ours).type).toBe('connection');
  });

  it('a reset before the headers: TypeError fetch failed → connection', async () => {
    handler = (req) => req.socket.destroy();
    const err = await pooled(`${server.url}/reset`, { method: 'POST', body: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect(classifyError(err).type).toBe('connection');
  });

  it('decodes gzip, deflate and br responses (sent although we never asked)', async () => {
    const text = 'data: {"x":"é"}\n\n'.repeat(500);
    const enc: Record<string, (b: Buffer) => Buffer> = {
      gzip: zlib.gzipSync,
      deflate: zlib.deflateSync,
      br: zlib.brotliCompressSync,
    };
    for (const [name, compress] of Object.entries(enc)) {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-encoding': name, 'content-type': 'text/event-stream' });
        res.end(compress(Buffer.from(text)));
      };
      const r = await pooled(`${server.url}/${name}`, { method: 'POST', body: 'x' });
      expect(r.headers.get('content-encoding')).toBe(name);
      expect(await r.text()).toBe(text);
    }
    // An unknown coding is handed over untouched.
    handler = (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'zstd-ish' });
      res.end('raw');
    };
    expect(await (await pooled(`${server.url}/unknown`)).text()).toBe('raw');
  });

  it('keeps connections alive: sequential requests share one socket, concurrent ones reuse the pool', async () => {
    const f = createPooledFetch(); // a fresh pool
    const before = server.connections();
    for (let i = 0; i < 20; i++)
      expect(await (await f(`${server.url}/seq`, { method: 'POST', body: String(i) })).text()).toBe('ok');
    expect(server.connections() - before).toBe(1);
    const burst = () =>
      Promise.all(
        Array.from({ length: 40 }, () => f(`${server.url}/par`, { method: 'POST', body: 'x' }).then((r) => r.text())),
      );
    await burst();
    const afterFirst = server.connections();
    await burst();
    await burst();
    // The two later bursts open (almost) nothing new: 120 requests, at most 41 sockets + a few.
    expect(server.connections() - afterFirst).toBeLessThan(10);
    expect(server.connections() - before).toBeLessThan(60);
  });

  it('does not follow redirects', async () => {
    handler = (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/target' });
        res.end('go');
      } else res.end('target');
    };
    const r = await pooled(`${server.url}/moved`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe('/target');
    expect(await r.text()).toBe('go');
    expect(server.requests.map((q) => q.url)).toEqual(['/moved']);
  });

  it('204, 304 and HEAD have a null body and free the socket', async () => {
    const f = createPooledFetch();
    const before = server.connections();
    handler = (req, res) => {
      res.writeHead(req.url === '/304' ? 304 : req.method === 'HEAD' ? 200 : 204, {
        'content-length': req.method === 'HEAD' ? '10' : '0',
      });
      res.end();
    };
    for (const [path, method] of [
      ['/204', 'POST'],
      ['/304', 'GET'],
      ['/head', 'HEAD'],
      ['/204', 'DELETE'],
    ] as const) {
      const r = await f(`${server.url}${path}`, { method });
      expect(r.body).toBeNull();
    }
    handler = (_req, res) => res.end('ok');
    expect(await (await f(`${server.url}/after`)).text()).toBe('ok');
    expect(server.connections() - before).toBe(1);
  });

  it('large bodies both ways', async () => {
    handler = (_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Echo it back 4 times (12 MB, written in pieces).
      for (let i = 0; i < 3; i++) res.write(body);
      res.end(body);
    };
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    const r = await pooled(`${server.url}/big`, { method: 'POST', body: big });
    const got = Buffer.from(await r.arrayBuffer());
    expect(server.requests[0]!.body.equals(big)).toBe(true);
    expect(got.length).toBe(4 * big.length);
    expect(got.subarray(3 * big.length).equals(big)).toBe(true);
  });
});
