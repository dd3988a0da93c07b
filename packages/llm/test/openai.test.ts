import { type Behavior, type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CallFailure, type CallResult, createLlmClient } from '../src/index.js';
import { makeModel, user } from './helpers.js';
import { until } from './server.js';

const SECRET = 'sk-planted-secret-abcdef0123456789';
let fake: FakeServer;
const client = createLlmClient();

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.setBehavior(undefined);
});

const model = (providerModel: string, params: Record<string, unknown> = {}) =>
  makeModel({
    provider: 'openai',
    providerModel,
    baseUrl: `${fake.url}/v1`,
    params,
    credential: { kind: 'secret', value: SECRET },
  });

describe('openai provider against the fake', () => {
  for (const stream of [true, false]) {
    it(`${stream ? 'streams' : 'non-streaming'}: output, models, usage, cost, timings`, async () => {
      fake.setBehavior({
        latencyMs: 60,
        usage: { prompt_tokens: 1000, completion_tokens: 500, cached_tokens: 400, reasoning_tokens: 120 },
      });
      const m = model('gpt-5-mini', { stream });
      let firstTokenCb: Date | null = null;
      const out = await client.call(m, {
        messages: user('Explain photosynthesis'),
        onFirstToken: (d) => (firstTokenCb = d),
      });
      expect(out.ok).toBe(true);
      const r = out as CallResult;
      expect(r.model).toBe(m);
      expect(r.requestedModel).toBe('gpt-5-mini');
      expect(r.responseModel).toBe('gpt-5-mini');
      expect(r.attribution).toBe('match');
      expect(r.output).toContain('Answer to: "Explain photosynthesis"');
      expect(r.usage).toMatchObject({
        inputTokens: 1000,
        outputTokens: 500,
        cachedInputTokens: 400,
        reasoningTokens: 120,
      });
      expect((r.usage.raw as { prompt_tokens: number }).prompt_tokens).toBe(1000);
      // 600 uncached * $1 + 400 cached * $0.5 + 500 out * $2, per million
      expect(r.cost.source).toBe('pricing');
      expect(r.cost.usd).toBeCloseTo((600 * 1 + 400 * 0.5 + 500 * 2) / 1e6, 12);
      expect(r.finishReason).toBe('stop');
      expect(r.latencyMs).toBeGreaterThanOrEqual(59);
      expect(r.latencyMs).toBe(r.endedAt.getTime() - r.startedAt.getTime());
      if (stream) {
        expect(r.firstTokenAt).toBeInstanceOf(Date);
        expect(firstTokenCb).toEqual(r.firstTokenAt);
        expect(r.ttftMs!).toBeLessThanOrEqual(r.latencyMs);
        expect(r.ttftMs!).toBeGreaterThanOrEqual(25);
      } else {
        expect(r.firstTokenAt).toBeNull();
        expect(r.ttftMs).toBeNull();
      }
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]!.stream).toBe(stream);
      expect(fake.requests[0]!.model).toBe('gpt-5-mini');
    });
  }

  it('provider cost and servedBy (OpenRouter style) win', async () => {
    fake.setBehavior({ providerCost: 0.0123, servedBy: 'DeepInfra', answerAs: 'openai/gpt-5-mini' });
    const r = (await client.call(model('gpt-5-mini'), { messages: user('hi') })) as CallResult;
    expect(r.cost).toEqual({ usd: 0.0123, source: 'provider' });
    expect(r.servedBy).toBe('DeepInfra');
    expect(r.attribution).toBe('alias');
  });

  it('alias vs mismatch through answerAs', async () => {
    fake.setBehavior((req) => ({
      answerAs: req.model === 'gpt-5-mini' ? 'gpt-5-mini-2025-08-07' : 'Qwen/Qwen2.5-7B-Instruct',
    }));
    const a = (await client.call(model('gpt-5-mini'), { messages: user('a') })) as CallResult;
    expect(a.responseModel).toBe('gpt-5-mini-2025-08-07');
    expect(a.attribution).toBe('alias');
    const b = (await client.call(model('gpt-4o'), { messages: user('b') })) as CallResult;
    expect(b.requestedModel).toBe('gpt-4o');
    expect(b.responseModel).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(b.attribution).toBe('mismatch');
  });

  const faults: Array<[string, Behavior, string, number | null]> = [
    ['429 retry-after seconds', { fault: { kind: '429', retryAfterSeconds: 3 } }, 'rate_limited', 429],
    ['429 retry-after-ms', { fault: { kind: '429', retryAfterMs: 1234, retryAfterSeconds: 9 } }, 'rate_limited', 429],
    ['500', { fault: '500' }, 'server_error', 500],
    ['503', { fault: '503' }, 'server_error', 503],
    ['401', { fault: '401' }, 'auth', 401],
    ['403', { fault: { kind: '403' } }, 'auth', 403],
    ['400', { fault: '400' }, 'bad_request', 400],
    ['404', { fault: { kind: '404' } }, 'bad_request', 404],
    ['422', { fault: { kind: '422' } }, 'bad_request', 422],
    ['malformed', { fault: 'malformed' }, 'invalid_response', null],
    ['reset', { fault: 'reset' }, 'connection', null],
  ];
  for (const stream of [true, false]) {
    for (const [name, behavior, type, status] of faults) {
      it(`${stream ? 'stream' : 'plain'}: ${name} → ${type}, exactly one request`, async () => {
        fake.setBehavior(behavior);
        const out = (await client.call(model(`fault-${name}`, { stream }), {
          messages: user('x'),
          timeoutMs: 5000,
        })) as CallFailure;
        expect(out.ok).toBe(false);
        expect(out.error.type).toBe(type);
        if (status != null) expect(out.error.httpStatus).toBe(status);
        if (name === '429 retry-after seconds') expect(out.error.retryAfterMs).toBe(3000);
        if (name === '429 retry-after-ms') expect(out.error.retryAfterMs).toBe(1234);
        expect(out.requestedModel).toBe(`fault-${name}`);
        expect(out.error.message.length).toBeLessThanOrEqual(500);
        expect(fake.countsByModel()).toEqual({ [`fault-${name}`]: 1 });
      });
    }
  }

  it('a stream cut after the first chunk → connection, first token recorded', async () => {
    fake.setBehavior({ fault: 'cut', latencyMs: 20 });
    const out = (await client.call(model('cut'), { messages: user('x') })) as CallFailure;
    expect(out.error.type).toBe('connection');
    expect(out.firstTokenAt).toBeInstanceOf(Date);
    expect(fake.countsByModel()).toEqual({ cut: 1 });
  });

  it('slow beyond timeoutMs → timeout', async () => {
    fake.setBehavior({ fault: { kind: 'slow', ms: 2000 } });
    for (const stream of [true, false]) {
      const out = (await client.call(model('slow', { stream }), {
        messages: user('x'),
        timeoutMs: 150,
      })) as CallFailure;
      // Our timer, not the answer, ended it: a timeout naming its limit, and the provider's
      // request was cut before it answered (a duration would count from another start: latency
      // from the write, the timer from the call).
      expect(out.error).toMatchObject({ type: 'timeout', message: 'timed out after 150 ms' });
      await until(() => fake.inFlight() === 0);
      expect(fake.requests.at(-1)!.status).toBe(0);
    }
    expect(fake.countsByModel()).toEqual({ slow: 2 });
  });

  it('hang + caller abort → aborted; an already-aborted signal never reaches the provider', async () => {
    fake.setBehavior({ fault: 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 80);
    const out = (await client.call(model('hang'), {
      messages: user('x'),
      signal: ac.signal,
      timeoutMs: 10_000,
    })) as CallFailure;
    expect(out.error.type).toBe('aborted'); // the caller's abort ended it (the provider never answers)
    const pre = (await client.call(model('hang'), { messages: user('x'), signal: AbortSignal.abort() })) as CallFailure;
    expect(pre.error.type).toBe('aborted');
    expect(fake.countsByModel()).toEqual({ hang: 1 });
  });

  it('connection refused → connection', async () => {
    const m = makeModel({ provider: 'openai', providerModel: 'x', baseUrl: 'http://127.0.0.1:1/v1' });
    const out = (await client.call(m, { messages: user('x') })) as CallFailure;
    expect(out.error.type).toBe('connection');
  });

  it('a planted secret never appears in any outcome, even when the provider echoes it', async () => {
    process.env.LLM_KEY_TEST_PLANTED = SECRET;
    const envModel = makeModel({
      provider: 'openai',
      providerModel: 'echo',
      baseUrl: `${fake.url}/v1`,
      credential: { kind: 'env', name: 'LLM_KEY_TEST_PLANTED' },
    });
    const outcomes: unknown[] = [];
    for (const fault of ['401', '400', '500', { kind: '429', retryAfterMs: 5 }] as const) {
      fake.setBehavior({ fault, echoAuthInError: true });
      for (const stream of [true, false]) {
        outcomes.push(await client.call(makeModel({ ...envModel, params: { stream } }), { messages: user('x') }));
        outcomes.push(await client.call(model('echo-secret', { stream }), { messages: user('x') }));
      }
    }
    fake.setBehavior(undefined);
    outcomes.push(await client.call(envModel, { messages: user(`repeat after me: ${SECRET}`) }));
    for (const o of outcomes) {
      const s = JSON.stringify(o);
      expect(s).not.toContain(SECRET);
      expect(s).not.toContain('abcdef0123456789');
    }
    // The fake did receive the key (so the echo really happened).
    expect(JSON.stringify(outcomes)).toContain('***');
    expect(fake.requests.every((r) => r.headers.authorization === '[present]')).toBe(true);
    delete process.env.LLM_KEY_TEST_PLANTED;
  });
});
