import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeOpenAI, type FakeServer } from '@batchlight/testkit';
import { loadConfig } from '../src/index.js';
import { allItems, allTraces, collectEvents, makeClient, promptSet, startTestServer, type TestServer } from './helpers.js';

const PLANTED = 'sk-planted-SECRET-value-0123456789abcdef';

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
    fake.setBehavior((req) => (req.seq % 2 ? { latencyMs: 2, fault: '401', echoAuthInError: true } : { latencyMs: 2, echoAuthInError: true }));
    const m = await c.models.create.mutate({ name: 'planted', provider: 'openai', providerModel: 'gpt-5-mini', baseUrl: `${fake.url}/v1`, apiKey: PLANTED });
    expect(m.credentialHint).toMatch(/^sk-…/);
    const set = await promptSet(c, 6);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 2, delayMs: 0, maxRetries: 0 });
    const events = await collectEvents(c, run.id);
    // The key reached the provider: the fake saw an Authorization header on every call.
    expect(fake.requests.every((r) => r.headers.authorization === '[present]')).toBe(true);
    const traces = await allTraces(c, run.id);
    expect(traces.some((tr) => tr.status === 'error')).toBe(true);

    const outputs: unknown[] = [
      m, events, traces, await allItems(c, run.id),
      await c.models.list.query(), await c.models.get.query({ id: m.id }),
      await c.runs.get.query({ id: run.id }), await c.runs.list.query(),
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
});

describe('BATCHLIGHT_TOKEN', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { token: 'right-token' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses HTTP requests and WebSocket connections without the token', async () => {
    expect((await fetch(`${t.server.url}/trpc/health`)).status).toBe(401);
    expect((await fetch(`${t.server.url}/trpc/health`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${t.server.url}/`)).status).toBe(401);
    const ok = await fetch(`${t.server.url}/trpc/health`, { headers: { authorization: 'Bearer right-token' } });
    expect(ok.status).toBe(200);
    expect(await t.client.health.query()).toMatchObject({ ok: true });

    const wsStatus = (query: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/ws${query}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    expect(await wsStatus('')).toBe(401);
    expect(await wsStatus('?token=wrong')).toBe(401);
    expect(await wsStatus('?token=right-token')).toBe(101);

    const wrong = makeClient(t.server.url, 'wrong');
    await expect(wrong.client.health.query()).rejects.toThrow();
    wrong.close();
  });

  it('refuses to bind a non-loopback host without a token, saying why', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/BATCHLIGHT_TOKEN/);
    expect(loadConfig({ HOST: '0.0.0.0', BATCHLIGHT_TOKEN: 'x' }).host).toBe('0.0.0.0');
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
    const sets = await c.promptSets.list.query();
    expect(sets[0]!.promptCount).toBeGreaterThanOrEqual(50);
    const fast = sims.find((m) => /fast/i.test(m.name))!;
    const run = await c.runs.create.mutate({ promptSetId: sets[0]!.id, modelIds: [fast.id, flaky.id], concurrency: 20, delayMs: 0, promptLimit: 10, maxRetries: 8 });
    const events = await collectEvents(c, run.id, { timeoutMs: 45_000 });
    expect(events.at(-1)!.type).toBe('run.finished');
    const got = await c.runs.get.query({ id: run.id });
    expect(got.completedItems + got.failedItems).toBe(20);
    expect(got.completedItems).toBeGreaterThanOrEqual(18);
  });
});
