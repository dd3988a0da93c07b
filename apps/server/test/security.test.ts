import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { createClient } from '@batchlight/api/client';
import { type EchoKey, type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ownHosts } from '../src/config.js';
import { createRequestGate } from '../src/gate.js';
import { loadConfig } from '../src/index.js';
import {
  allItems,
  allTraces,
  collectEvents,
  makeClient,
  promptSet,
  startTestServer,
  type TestServer,
} from './helpers.js';

const PLANTED = 'sk-planted-SECRET-value-0123456789abcdef';

/** A key a provider echoes back (below). */
const KEY = 'sk-echo-7fQ2mZ9xLp4vR8sT1wY6nB3cD5gH0jKq';
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** What a leak would look like: the key, all but its last 4, 8-character pieces (ends, middle), its encodings. */
const LEAKS = [
  KEY,
  KEY.slice(0, -4),
  KEY.slice(0, 8),
  KEY.slice(-8),
  KEY.slice(16, 24),
  KEY.slice(5, 13),
  b64(KEY).slice(0, 24),
  b64(`Bearer ${KEY}`).slice(8, 32),
  b64(`Bearer ${KEY.slice(0, -4)}`).slice(8, 32),
];

function expectNoLeak(text: string, where: string) {
  for (const leak of LEAKS) expect(text.includes(leak), `${where} holds "${leak}"`).toBe(false);
}

describe('credentials never leave the server', () => {
  let t: TestServer;
  let fake: FakeServer;
  beforeAll(async () => {
    [t, fake] = await Promise.all([startTestServer('sqlite'), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });

  it('does not show a stored key in any API output, event, trace, export or log line', async () => {
    const c = t.client;
    // Half the calls fail with an error body that quotes the Authorization header back.
    fake.setBehavior((req) =>
      req.seq % 2 ? { latencyMs: 2, fault: '401', echoAuthInError: true } : { latencyMs: 2, echoAuthInError: true },
    );
    const m = await c.models.create.mutate({
      name: 'planted',
      provider: 'openai',
      providerModel: 'gpt-5-mini',
      baseUrl: `${fake.url}/v1`,
      apiKey: PLANTED,
    });
    expect(m.credentialHint).toMatch(/^sk-…/);
    const set = await promptSet(c, 6);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 2,
      delayMs: 0,
      maxRetries: 0,
    });
    const events = await collectEvents(c, run.id);
    // The key reached the provider: the fake saw an Authorization header on every call.
    expect(fake.requests.every((r) => r.headers.authorization === '[present]')).toBe(true);
    const traces = await allTraces(c, run.id);
    expect(traces.some((tr) => tr.status === 'error')).toBe(true);

    const outputs: unknown[] = [
      m,
      events,
      traces,
      await allItems(c, run.id),
      await c.models.list.query(),
      await c.models.get.query({ id: m.id }),
      await c.runs.get.query({ id: run.id }),
      await c.runs.list.query(),
      await c.runs.audit.query({ runId: run.id }),
      ...(await Promise.all(traces.map((tr) => c.traces.get.query({ id: tr.id })))),
      await c.chat.send.mutate({ modelId: m.id, messages: [{ role: 'user', content: 'hi' }] }),
      await c.models.test.mutate({ id: m.id }),
      t.logs,
    ];
    for (const format of ['csv', 'jsonl'] as const) {
      const res = await fetch(`${t.server.url}/export/${run.id}.${format}`);
      expect(res.status).toBe(200);
      outputs.push(await res.text());
    }
    const all = JSON.stringify(outputs);
    expect(all.length).toBeGreaterThan(5000);
    expect(all).not.toContain(PLANTED);
    expect(all).not.toContain(PLANTED.slice(0, 24));
  });

  // A provider that echoes the key back — whole, cut short, base64- and URL-encoded; in `model`, in
  // `usage`, in `provider`, in error bodies and in streamed output: nothing of the key (no run of
  // 8 or more of its characters) anywhere a user or a file can see: API answers, events live and
  // replayed, exports, the server log, and the bytes of the SQLite database and its WAL.
  it('never stores or shows any piece of the key', async () => {
    const c = t.client;
    // Call by call: successes echoing the key in every place a success can, failures echoing it
    // in their error body (some retried, so there are retry traces and events too).
    const echoes: EchoKey[] = [
      { into: ['model', 'usage', 'output', 'servedBy'] },
      { into: ['model', 'usage', 'output', 'servedBy'], dropLast: 4 },
      { into: ['model', 'usage', 'output'], encoding: 'base64' },
      { into: ['model', 'usage', 'output'], encoding: 'url', dropLast: 4 },
    ];
    fake.setBehavior((req) => {
      const echoKey = echoes[req.seq % echoes.length]!;
      if (req.seq % 5 === 0) return { latencyMs: 2, fault: '500', echoKey: { ...echoKey, into: ['error'] } };
      if (req.seq % 7 === 0) {
        return { latencyMs: 2, fault: '401', echoKey: { ...echoKey, into: ['error'] }, echoAuthInError: true };
      }
      return { latencyMs: 2, echoKey };
    });
    const echoer = (name: string, stream: boolean) =>
      c.models.create.mutate({
        name,
        provider: 'openai',
        providerModel: name,
        baseUrl: `${fake.url}/v1`,
        apiKey: KEY,
        params: { stream },
      });
    const [m, plain] = [await echoer('echo-model', true), await echoer('echo-plain', false)];
    const set = await promptSet(c, 12);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id, plain.id],
      concurrency: 4,
      delayMs: 0,
      maxRetries: 1,
    });
    const live = await collectEvents(c, run.id);
    expect(live.at(-1)!.type).toBe('run.finished');
    const replayed = await collectEvents(c, run.id);
    const traces = await allTraces(c, run.id);
    expect(traces.some((tr) => tr.status === 'ok')).toBe(true);
    expect(traces.some((tr) => tr.status === 'error')).toBe(true);
    expect(live.some((e) => e.type === 'item.retrying')).toBe(true);
    // The echo really happened: scrubbed places carry the marker.
    expect(traces.some((tr) => tr.responseModel?.includes('***'))).toBe(true);

    const stream = createClient({ url: t.server.url }).client;
    const exported: string[] = [];
    for (const format of ['csv', 'jsonl'] as const) {
      for await (const chunk of await stream.runs.export.query({ runId: run.id, format })) exported.push(chunk);
      exported.push(await (await fetch(`${t.server.url}/export/${run.id}.${format}`)).text());
    }
    const answers: Record<string, unknown> = {
      live,
      replayed,
      traces,
      exported,
      items: await allItems(c, run.id),
      traceDetails: await Promise.all(traces.map((tr) => c.traces.get.query({ id: tr.id }))),
      run: await c.runs.get.query({ id: run.id }),
      runs: await c.runs.list.query(),
      audit: await c.runs.audit.query({ runId: run.id }),
      compare: await c.runs.compare.query({ runIds: [run.id] }),
      chat: await c.chat.send.mutate({ modelId: m.id, messages: [{ role: 'user', content: 'hi' }] }),
      test: await c.models.test.mutate({ id: plain.id }),
      models: await c.models.list.query(),
    };
    const text = JSON.stringify(answers);
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).toContain('***');
    for (const [where, value] of Object.entries(answers)) expectNoLeak(JSON.stringify(value), where);
    expectNoLeak(t.logs.join('\n'), 'the server log');

    // The database file and its write-ahead log, byte for byte.
    const file = t.db.url.replace(/^file:/, '');
    const bytes = [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
    expect(bytes.join('').length).toBeGreaterThan(100_000);
    expectNoLeak(bytes.join('\n'), 'the database file');
  });
});

describe('BATCHLIGHT_TOKEN', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { token: 'right-token-0123456789' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses HTTP requests and WebSocket connections without the token', async () => {
    expect((await fetch(`${t.server.url}/trpc/health`)).status).toBe(401);
    expect((await fetch(`${t.server.url}/trpc/health`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    expect((await fetch(`${t.server.url}/`)).status).toBe(401);
    const ok = await fetch(`${t.server.url}/trpc/health`, {
      headers: { authorization: 'Bearer right-token-0123456789' },
    });
    expect(ok.status).toBe(200);
    expect(await t.client.health.query()).toMatchObject({ ok: true });

    // The token goes in a header on the upgrade (or the monitor's cookie); never in the URL.
    const wsStatus = (headers: Record<string, string>, query = '') =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/ws${query}`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    expect(await wsStatus({})).toBe(401);
    expect(await wsStatus({ authorization: 'Bearer wrong' })).toBe(401);
    expect(await wsStatus({}, '?token=right-token-0123456789')).toBe(401);
    expect(await wsStatus({ authorization: 'Bearer right-token-0123456789' })).toBe(101);
    expect(await wsStatus({ cookie: 'batchlight_token=right-token-0123456789' })).toBe(101);

    const wrong = makeClient(t.server.url, 'wrong');
    await expect(wrong.client.health.query()).rejects.toThrow();
    wrong.close();
  });

  it('answers to its loopback names, the address it is bound to and the allowed origins, and to nothing else', () => {
    const check = (gate: ReturnType<typeof createRequestGate>, headers: Record<string, string>) =>
      gate.check({ headers } as unknown as IncomingMessage)?.status ?? 'ok';
    const named = createRequestGate({
      ownHosts: ownHosts('10.1.2.3', 80),
      allowedOrigins: ['https://batchlight.example.com'],
    });
    expect(check(named, { host: '10.1.2.3' })).toBe('ok');
    expect(check(named, { host: '10.1.2.3:80' })).toBe('ok');
    expect(check(named, { host: 'LOCALHOST' })).toBe('ok');
    expect(check(named, { host: 'batchlight.example.com', origin: 'https://batchlight.example.com' })).toBe('ok');
    expect(check(named, { host: '10.1.2.3', origin: 'http://10.1.2.3' })).toBe('ok');
    expect(check(named, { host: 'evil.example' })).toBe(421);
    expect(check(named, { host: '2130706433' })).toBe(421); // 127.0.0.1 in another spelling
    expect(check(named, { host: '10.1.2.3', origin: 'https://evil.example' })).toBe(403);
    expect(check(named, {})).toBe(400);
    // Bound to every interface: each address of this machine, on the port.
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4');
    const everywhere = createRequestGate({ ownHosts: ownHosts('0.0.0.0', 4700), allowedOrigins: [] });
    for (const a of addresses) expect(check(everywhere, { host: `${a!.address}:4700` }), a!.address).toBe('ok');
    expect(check(everywhere, { host: `${addresses[0]!.address}:4701` })).toBe(421);
  });

  it('refuses to bind a non-loopback host without a token, saying why', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/BATCHLIGHT_TOKEN/);
    expect(loadConfig({ HOST: '0.0.0.0', BATCHLIGHT_TOKEN: 'a-token-of-16-chars' }).host).toBe('0.0.0.0');
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({}).port).toBe(4700);
  });
});

describe('first start', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('seeds simulated models (one flaky) and a demo prompt set that runs with no key and no network', async () => {
    const c = t.client;
    const models = await c.models.list.query();
    const sims = models.filter((m) => m.provider === 'simulated');
    expect(sims.length).toBeGreaterThanOrEqual(2);
    const flaky = sims.find((m) => /flaky/i.test(m.name))!;
    expect((flaky.params.simulation as { rateLimitRate: number }).rateLimitRate).toBeGreaterThan(0);
    // Unseeded: its faults fall on other prompts each run, so the demo does not fail the same way every time.
    expect(flaky.params.simulation).not.toHaveProperty('seed');
    const sets = await c.promptSets.list.query();
    expect(sets[0]!.promptCount).toBeGreaterThanOrEqual(50);
    const fast = sims.find((m) => /fast/i.test(m.name))!;
    const run = await c.runs.create.mutate({
      promptSetId: sets[0]!.id,
      modelIds: [fast.id, flaky.id],
      concurrency: 20,
      delayMs: 0,
      promptLimit: 10,
      maxRetries: 8,
    });
    const events = await collectEvents(c, run.id, { timeoutMs: 45_000 });
    expect(events.at(-1)!.type).toBe('run.finished');
    const got = await c.runs.get.query({ id: run.id });
    expect(got.completedItems + got.failedItems).toBe(20);
    expect(got.completedItems).toBeGreaterThanOrEqual(18);
  });
});
