import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyError, endpointOf, failureCause } from '../src/index.js';
import { createTransport } from '../src/providers/transport.js';
import { type Handler, sleep, startServer, type TinyServer, until } from './server.js';

// The transport over real HTTP: undici's fetch on the client's pool, with a call's send hooks.
let server: TinyServer;
let handler: Handler = (_req, res) => res.end('ok');
const transport = createTransport();
const post = (path: string, init: RequestInit = {}) =>
  transport.fetch(`${server.url}${path}`, { method: 'POST', body: 'x', ...init });

beforeAll(async () => {
  server = await startServer((req, res, body) => handler(req, res, body));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  handler = (_req, res) => res.end('ok');
});

describe('createTransport', () => {
  it('holds the request until beforeSend resolves, then hands it over and calls sent()', async () => {
    const order: string[] = [];
    const hooks = (abort?: AbortController) =>
      transport.init({
        signal: abort?.signal,
        beforeSend: async () => {
          order.push('beforeSend');
          await sleep(30);
          abort?.abort(new Error('stop'));
          order.push(`turn (${server.requests.length} seen)`);
        },
        sent: () => order.push('sent'),
      });
    expect(await (await post('/paced', hooks())).text()).toBe('ok');
    expect(order).toEqual(['beforeSend', 'turn (0 seen)', 'sent']);
    expect(server.requests.map((r) => r.url)).toEqual(['/paced']);

    // Aborted while it waits for its turn: the fetch rejects with the reason, nothing is sent.
    order.length = 0;
    const ac = new AbortController();
    await expect(post('/never', { ...hooks(ac), signal: ac.signal })).rejects.toThrow('stop');
    await sleep(30);
    expect(order).toEqual(['beforeSend', 'turn (1 seen)']);
    expect(server.requests.map((r) => r.url)).toEqual(['/paced']);
  });

  it('keeps connections alive: sequential requests reuse their sockets', async () => {
    const before = server.connections();
    for (let i = 0; i < 20; i++) expect(await (await post('/seq', transport.init(noHooks))).text()).toBe('ok');
    // undici may find a socket still finishing the previous answer and open a second; without
    // keep-alive it would be 20.
    expect(server.connections() - before).toBeLessThanOrEqual(2);
  });

  it("a body cut by the server: undici's SocketError, classified as connection by its code", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => res.socket?.destroy());
    };
    const r = await post('/cut', transport.init(noHooks));
    const err = await r.text().catch((e: unknown) => e);
    expect((err as { code?: unknown }).code).toBe('UND_ERR_SOCKET');
    expect(classifyError(err).type).toBe('connection');
  });

  it('a reset before the headers and a refused connection are connection failures', async () => {
    handler = (req) => req.socket.destroy();
    const reset = await post('/reset', transport.init(noHooks)).catch((e: unknown) => e);
    expect(classifyError(reset).type).toBe('connection');
    const closed = await startServer(() => {});
    const url = closed.url;
    await closed.close();
    const refused = await transport.fetch(`${url}/x`, { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(classifyError(refused).type).toBe('connection');
  });

  it('does not follow redirects (a key must not travel to wherever a 3xx points)', async () => {
    handler = (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/target' });
        res.end('go');
      } else res.end('target');
    };
    const r = await post('/moved', transport.init(noHooks));
    expect(r.status).toBe(307);
    expect(await r.text()).toBe('go');
    await until(() => server.requests.length >= 1);
    expect(server.requests.map((q) => q.url)).toEqual(['/moved']);
  });

  it('decodes gzip, deflate and br bodies as fetch does, and passes other codings through', async () => {
    const json = JSON.stringify({ text: 'Grüße 🎉'.repeat(200) });
    const encode: Record<string, (b: Buffer) => Buffer> = {
      gzip: zlib.gzipSync,
      deflate: zlib.deflateSync,
      br: zlib.brotliCompressSync,
      identity: (b) => b,
    };
    for (const [coding, enc] of Object.entries(encode)) {
      handler = (req, res) => {
        expect(req.headers['accept-encoding']).toBe('gzip, deflate');
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': coding });
        res.end(enc(Buffer.from(json)));
      };
      const r = await post(`/${coding}`, transport.init(noHooks));
      expect(await r.json()).toEqual(JSON.parse(json));
    }
  });

  it('a corrupt gzip body fails the read instead of passing garbage on', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(Buffer.from('not gzip at all'));
    };
    const err = await post('/bad-gzip', transport.init(noHooks)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: unknown }).code).toBe('Z_DATA_ERROR');
  });

  it('a 204 answers with no body', async () => {
    handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const r = await post('/empty', transport.init(noHooks));
    expect(r.status).toBe(204);
    expect(r.body).toBeNull();
  });
});

const noHooks = { beforeSend: () => Promise.resolve(), sent: () => {} };

describe('a connection that fails keeps its system code (fetch wraps it in `cause`)', () => {
  const failed = async (url: string) => {
    const err = await transport.fetch(url, { method: 'POST', body: 'x', ...transport.init(noHooks) }).catch((e) => e);
    return classifyError(err, { secret: 'sk-never-shown' });
  };

  it('a closed port: ECONNREFUSED, said as "connection refused", with the address in the message', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const e = await failed(`http://127.0.0.1:${port}/v1/chat/completions`);
    expect([e.type, e.code]).toEqual(['connection', 'ECONNREFUSED']);
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(failureCause(e)).toMatch(/^connection refused \(ECONNREFUSED\)/);
  });

  it('an unresolvable host: ENOTFOUND (or EAI_AGAIN), said as "host not found"', async () => {
    const e = await failed('http://nonexistent.invalid/v1/chat/completions');
    expect(e.type).toBe('connection');
    expect(failureCause(e)).toMatch(/^host not found \(DNS: (ENOTFOUND|EAI_AGAIN)\)/);
  });

  it('https to a plain HTTP server: a TLS code, a connection failure (not an "invalid response")', async () => {
    const e = await failed(`${server.url.replace('http:', 'https:')}/tls`);
    expect(e.type).toBe('connection');
    expect(failureCause(e)).toMatch(/^TLS failed \((ERR_SSL_\w+|EPROTO)\)/);
  });

  it('names where a model calls, without a user or password in the URL', () => {
    expect(endpointOf({ provider: 'openai', baseUrl: null })).toBe('https://api.openai.com');
    expect(endpointOf({ provider: 'openai', baseUrl: 'http://u:p@10.0.0.5:8000/v1/' })).toBe('http://10.0.0.5:8000/v1');
    expect(endpointOf({ provider: 'simulated', baseUrl: null })).toBeNull();
    expect(endpointOf({ provider: 'openai', baseUrl: 'https://h.example/v1?api-key=sk-in-query#sk-frag' })).toBe(
      'https://h.example/v1',
    );
    expect(endpointOf({ provider: 'openai', baseUrl: 'not a url sk-raw' })).toBeNull();
  });
});
