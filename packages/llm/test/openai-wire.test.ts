import zlib from 'node:zlib';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createThreadedLlmClient } from '../dist/index.js';
import { type CallFailure, type CallResult, classifyError, createLlmClient } from '../src/index.js';
import { makeModel, user } from './helpers.js';
import { type Handler, sseAnswer, sseChunk, startServer, type TinyServer, until } from './server.js';

// The openai adapter on its default transport (undici's fetch on the client's pool, the stream
// read by sse.ts), over real HTTP: the testkit fake, and a tiny server for what the fake cannot send.
const KEY = 'sk-wire-test-key-0123456789';
let fake: FakeServer;
let server: TinyServer;
let handler: Handler;
const client = createLlmClient();

beforeAll(async () => {
  fake = await startFakeOpenAI();
  server = await startServer((req, res, body) => handler(req, res, body));
});
afterAll(async () => {
  await fake.close();
  await server.close();
});
beforeEach(() => {
  fake.reset();
  fake.setBehavior(undefined);
  server.requests.length = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(sseAnswer('m', ['Hello', ' world']));
  };
});

const onFake = (providerModel: string, params: Record<string, unknown> = {}) =>
  makeModel({
    provider: 'openai',
    providerModel,
    baseUrl: `${fake.url}/v1`,
    params,
    credential: { kind: 'secret', value: KEY },
  });
const onServer = (providerModel = 'm', params: Record<string, unknown> = {}) =>
  makeModel({
    provider: 'openai',
    providerModel,
    baseUrl: `${server.url}/v1`,
    params,
    credential: { kind: 'secret', value: KEY },
  });

describe('openai adapter on its transport', () => {
  it("sends the SDK request headers as the global fetch does, without fetch's browser headers", async () => {
    const viaGlobal = createLlmClient({ fetch: (i, o) => fetch(i, o) });
    for (const stream of [true, false]) {
      if (!stream) {
        handler = (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ model: 'm', choices: [{ message: { content: 'x' }, finish_reason: 'stop' }] }));
        };
      }
      expect((await client.call(onServer('m', { stream }), { messages: user('héllo') })).ok).toBe(true);
      expect((await viaGlobal.call(onServer('m', { stream }), { messages: user('héllo') })).ok).toBe(true);
      const [ours, theirs] = server.requests.splice(0);
      expect(ours!.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(ours!.headers['content-type']).toBe('application/json');
      expect(ours!.headers['user-agent']).toMatch(/^OpenAI\/JS /);
      expect(ours!.headers['content-length']).toBe(String(ours!.body.length));
      // fetch adds what a browser would send (sec-fetch-mode: cors, accept-language: *); not a provider's concern.
      const { 'sec-fetch-mode': _mode, 'accept-language': _lang, ...fromSdk } = theirs!.headers;
      expect(ours!.headers).toEqual(fromSdk);
      expect(ours!.body.equals(theirs!.body)).toBe(true);
      expect(JSON.parse(ours!.body.toString()).messages[0].content).toBe('héllo');
    }
  });

  it('keeps sockets alive across calls (one pool per LlmClient)', async () => {
    const c = createLlmClient();
    const before = server.connections();
    for (let i = 0; i < 10; i++) expect((await c.call(onServer(), { messages: user(`p${i}`) })).ok).toBe(true);
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.call(onServer(), { messages: user(`q${i}`) })));
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.call(onServer(), { messages: user(`r${i}`) })));
    expect(server.requests).toHaveLength(70);
    expect(server.connections() - before).toBeLessThanOrEqual(35);
  });

  it('a gzip-compressed stream is decoded', async () => {
    handler = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'content-encoding': 'gzip',
        'x-inference-provider': 'Zipped',
      });
      res.end(zlib.gzipSync(sseAnswer('m', ['Grüße', ' 🎉'])));
    };
    const r = (await client.call(onServer(), { messages: user('x') })) as CallResult;
    expect(r.ok).toBe(true);
    expect(r.output).toBe('Grüße 🎉');
    expect(r.servedBy).toBe('Zipped');
    expect(r.usage.outputTokens).toBe(2);
    expect(r.finishReason).toBe('stop');
  });

  it('a 3xx is not followed: the call fails with that status and the target is never asked', async () => {
    handler = (_req, res) => {
      res.writeHead(307, { location: '/v1/elsewhere/chat/completions', 'content-type': 'application/json' });
      res.end('{"error":{"message":"moved"}}');
    };
    for (const stream of [true, false]) {
      const out = (await client.call(onServer('m', { stream }), { messages: user('x') })) as CallFailure;
      expect(out.ok).toBe(false);
      expect(out.error.httpStatus).toBe(307);
      expect(out.error.type).toBe('invalid_response');
    }
    expect(server.requests.map((q) => q.url)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
  });

  it('a large prompt and a large streamed answer (multi-byte text in many chunks)', async () => {
    const prompt = 'Ünïcødé ✓ 日本語 '.repeat(60_000); // ~1.3 MB of UTF-8
    handler = (_req, res, body) => {
      const content: string = JSON.parse(body.toString()).messages[0].content;
      const pieces: string[] = [];
      for (let i = 0; i < content.length; i += 997) pieces.push(content.slice(i, i + 997));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const all = sseAnswer('m', pieces);
      for (let i = 0; i < all.length; i += 65_536) res.write(all.slice(i, i + 65_536));
      res.end();
    };
    const r = (await client.call(onServer(), { messages: user(prompt) })) as CallResult;
    expect(r.ok).toBe(true);
    expect(r.output).toBe(prompt);
    expect(server.requests[0]!.headers['content-length']).toBe(String(server.requests[0]!.body.length));
  });

  it('an in-band error in the stream is classified exactly as the SDK APIError it replaces', async () => {
    const payload = { message: 'The server is overloaded', type: 'server_error', code: 'overloaded' };
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_9' });
      res.end(`${sseChunk('m', { content: 'par' })}data: ${JSON.stringify({ error: payload })}\n\n`);
    };
    const out = (await client.call(onServer(), { messages: user('x') })) as CallFailure;
    expect(out.ok).toBe(false);
    expect(out.error).toEqual(
      classifyError(new APIError(undefined, payload, undefined, new Headers({ 'x-request-id': 'req_9' }))),
    );
    expect(out.error.message).toBe('The server is overloaded');
    expect(out.firstTokenAt).toBeInstanceOf(Date);

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        sseChunk('m', { content: 'par' }) +
          'event: error\ndata: {"message":"upstream gave up"}\n\n' +
          sseChunk('m', {}, 'stop') +
          'data: [DONE]\n\n',
      );
    };
    const ev = (await client.call(onServer(), { messages: user('x') })) as CallFailure;
    expect(ev.ok).toBe(false);
    expect(ev.error.message).toBe('upstream gave up');
  });

  it('an unparseable event on a stream the server keeps open fails at once and closes the socket', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`${sseChunk('m', { content: 'ok' })}data: {"choices": [oops\n\n`); // and never ends
    };
    const closedBefore = server.closedConnections();
    const out = (await client.call(onServer(), { messages: user('x'), timeoutMs: 5000 })) as CallFailure;
    expect(out.ok).toBe(false);
    expect(out.error.type).toBe('invalid_response'); // at once: not the 5 s timeout
    await until(() => server.closedConnections() > closedBefore);
  });

  it('comments, CRLF line ends and data after [DONE] change nothing', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const body =
        ': keep-alive\n\n' +
        sseAnswer('m-2025-01-01', ['a', 'b', 'c']) +
        'data: {"choices":[{"delta":{"content":"LATE"}}]}\n\n';
      res.end(body.replace(/\n/g, '\r\n'));
    };
    const r = (await client.call(onServer('m'), { messages: user('x') })) as CallResult;
    expect(r.output).toBe('abc');
    expect(r.responseModel).toBe('m-2025-01-01');
    expect(r.attribution).toBe('alias');
  });

  it('a timeout or a cancel while the answer streams fails the call (the SDK Stream ended quietly, as a success)', async () => {
    fake.setBehavior({ latencyMs: 3000, ttftFraction: 0.05 }); // headers and a first chunk at 150 ms, the rest at 3 s
    const t = (await client.call(onFake('slow-body'), { messages: user('x'), timeoutMs: 500 })) as CallFailure;
    expect(t.ok).toBe(false);
    expect(t.error).toMatchObject({ type: 'timeout', message: 'timed out after 500 ms' });
    expect(t.firstTokenAt).toBeInstanceOf(Date);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 400);
    const a = (await client.call(onFake('slow-body'), { messages: user('x'), signal: ac.signal })) as CallFailure;
    expect(a.ok).toBe(false);
    expect(a.error.type).toBe('aborted');
    expect(a.firstTokenAt).toBeInstanceOf(Date);
    // The fake saw both requests closed before it finished them.
    await until(() => fake.inFlight() === 0);
    expect(fake.requests.map((r) => r.status)).toEqual([0, 0]);
  });

  it('connection refused: the outcome of the global fetch, with the system cause it leaves out', async () => {
    const viaGlobal = createLlmClient({ fetch: (i, o) => fetch(i, o) });
    const m = makeModel({ provider: 'openai', providerModel: 'x', baseUrl: 'http://127.0.0.1:1/v1' });
    for (const stream of [true, false]) {
      const mm = makeModel({ ...m, params: { stream } });
      const ours = (await client.call(mm, { messages: user('x') })) as CallFailure;
      const theirs = (await viaGlobal.call(mm, { messages: user('x') })) as CallFailure;
      expect(ours.error).toMatchObject({ type: 'connection', httpStatus: null, retryAfterMs: null });
      expect(theirs.error).toMatchObject({ type: 'connection', httpStatus: null, retryAfterMs: null });
      // Node's fetch hides the socket's error a level deeper than the SDK looks; ours keeps it.
      expect(ours.error.code).toBe('ECONNREFUSED');
      expect(ours.error.message).toBe(`${theirs.error.message} (connect ECONNREFUSED 127.0.0.1:1)`);
    }
  });

  it('an explicit fetch option still wins', async () => {
    const seen: string[] = [];
    const c = createLlmClient({
      fetch: (i, o) => {
        seen.push(String(i instanceof Request ? i.url : i));
        return fetch(i, o);
      },
    });
    const r = (await c.call(onFake('explicit'), { messages: user('hi') })) as CallResult;
    expect(r.ok).toBe(true);
    expect(r.output).toContain('Answer to: "hi"');
    expect(seen).toEqual([`${fake.url}/v1/chat/completions`]);
  });
});

describe('CallRequest.pace', () => {
  const GAP = 60;

  it.each([
    ['openai on its transport', () => createLlmClient(), () => onFake('gpt-x')],
    ['openai on a caller-given fetch', () => createLlmClient({ fetch: (i, o) => fetch(i, o) }), () => onFake('gpt-x')],
    [
      'simulated',
      () => createLlmClient(),
      () => makeModel({ provider: 'simulated', providerModel: 'sim', params: { simulation: { latencyMs: 5 } } }),
    ],
    // The worker runs the built package (dist): `pnpm test` builds first.
    ['the threaded client', () => createThreadedLlmClient(), () => onFake('gpt-x')],
  ])(
    '%s: writes calls of one key at least gapMs apart, and counts latency from the write',
    async (_name, mk, model) => {
      const client = mk();
      const m = model();
      const pace = { key: `run-${Math.random()}`, gapMs: GAP };
      await client.call(m, { messages: user('warm-up') }); // a new worker and a cold SDK are slow once
      fake.reset();
      const outs = await Promise.all([0, 1, 2].map(() => client.call(m, { messages: user('hi'), pace })));
      if ('close' in client) await (client as { close(): Promise<void> }).close();
      expect(outs.every((o) => o.ok)).toBe(true);
      const starts = outs.map((o) => o.startedAt.getTime()).sort((a, b) => a - b);
      expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(GAP - 1);
      expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(GAP - 1);
      // The wait is not latency: a call's start is its write, after its turn, and latency counts from it.
      for (const o of outs) expect(o.latencyMs).toBe(o.endedAt.getTime() - o.startedAt.getTime());
      if (m.provider === 'openai') {
        const seen = fake.requests.map((r) => r.startedAt).sort((a, b) => a - b);
        expect(seen).toHaveLength(3);
        // The fake's own clock reads a request when its (in-test) event loop gets to it: on a busy
        // machine late, by more for one request than the next. Unpaced, the span would be about
        // zero; paced, 2 gaps: at least one whole gap is left whatever the lateness of the first.
        expect(seen[2]! - seen[0]!).toBeGreaterThanOrEqual(GAP);
      }
      fake.reset();
    },
  );

  it('fails a call aborted while it waits for its turn as aborted, with nothing sent', async () => {
    const client = createLlmClient();
    const pace = { key: 'abort-me', gapMs: 10_000 };
    const first = await client.call(onFake('gpt-x'), { messages: user('hi'), pace });
    expect(first.ok).toBe(true);
    const ac = new AbortController();
    const second = client.call(onFake('gpt-x'), { messages: user('hi'), signal: ac.signal, pace });
    setTimeout(() => ac.abort(), 50);
    const out = await second;
    expect(out.ok).toBe(false);
    expect((out as CallFailure).error.type).toBe('aborted');
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    ['the client', () => createLlmClient()],
    ['the threaded client', () => createThreadedLlmClient()],
  ])(
    '%s: pace.signal stops a call waiting for its turn (sent: false, nothing sent) and leaves a sent one alone',
    async (_name, mk) => {
      const client = mk();
      fake.setBehavior({ latencyMs: 300 });
      const stop = new AbortController();
      const pace = { key: `stop-${Math.random()}`, gapMs: 10_000, signal: stop.signal };
      const first = client.call(onFake('gpt-x'), { messages: user('hi'), pace });
      const second = client.call(onFake('gpt-x'), { messages: user('hi'), pace });
      await until(() => fake.requests.length === 1, 30_000); // a new worker starts slowly on a loaded machine
      stop.abort(new Error('draining'));
      const [a, b] = await Promise.all([first, second]);
      if ('close' in client) await (client as { close(): Promise<void> }).close();
      expect(a.ok).toBe(true); // already sent: it went on to its answer
      expect(b.ok).toBe(false);
      expect([(b as CallFailure).error.type, (b as CallFailure).sent]).toEqual(['aborted', false]);
      expect(fake.requests).toHaveLength(1);
    },
  );

  it("a queue of calls waits for its turns outside the calls' timeout", async () => {
    const client = createLlmClient();
    const pace = { key: `queue-${Math.random()}`, gapMs: 1_500 };
    // Three answers at once, given 1.2 s each; the last waits two gaps (3 s) for its turn.
    const outs = await Promise.all(
      [0, 1, 2].map(() => client.call(onFake('gpt-x'), { messages: user('hi'), pace, timeoutMs: 1_200 })),
    );
    expect(outs.map((o) => (o.ok ? 'ok' : o.error.type))).toEqual(['ok', 'ok', 'ok']);
  });
});
