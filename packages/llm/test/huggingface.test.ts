import { type Behavior, type FakeServer, startFakeHuggingFace } from '@batchlight/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CallFailure, type CallResult, createLlmClient } from '../src/index.js';
import { makeModel, user } from './helpers.js';
import { until } from './server.js';

const TOKEN = 'hf_plantedSecretToken0123456789';
let hf: FakeServer;
const client = createLlmClient();
/** Inference Providers: the SDK talks to router.huggingface.co / huggingface.co; redirect to the fake. */
let routed: ReturnType<typeof createLlmClient>;

beforeAll(async () => {
  hf = await startFakeHuggingFace();
  const redirect: typeof fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
      .replace('https://router.huggingface.co', hf.url)
      .replace('https://huggingface.co', hf.url);
    return fetch(url, init);
  };
  routed = createLlmClient({ fetch: redirect });
});
afterAll(() => hf.close());
beforeEach(() => {
  hf.reset();
  hf.setBehavior(undefined);
});

const endpointModel = (providerModel: string, params: Record<string, unknown> = {}) =>
  makeModel({
    provider: 'huggingface',
    providerModel,
    baseUrl: hf.url,
    params,
    credential: { kind: 'secret', value: TOKEN },
  });
const routedModel = (providerModel: string, params: Record<string, unknown> = {}) =>
  makeModel({
    provider: 'huggingface',
    providerModel,
    baseUrl: null,
    params,
    credential: { kind: 'secret', value: TOKEN },
  });

describe('huggingface provider, dedicated endpoint (endpointUrl)', () => {
  for (const stream of [true, false]) {
    it(`${stream ? 'streams' : 'non-streaming'}: output, models, usage, cost, timings`, async () => {
      hf.setBehavior({
        latencyMs: 50,
        usage: { prompt_tokens: 200, completion_tokens: 100, cached_tokens: 50, reasoning_tokens: 7 },
      });
      const m = endpointModel('Qwen/Qwen2.5-7B-Instruct', { stream });
      const r = (await client.call(m, { messages: user('Explain TCP') })) as CallResult;
      expect(r.ok).toBe(true);
      expect(r.model).toBe(m);
      expect(r.requestedModel).toBe('Qwen/Qwen2.5-7B-Instruct');
      expect(r.responseModel).toBe('Qwen/Qwen2.5-7B-Instruct');
      expect(r.attribution).toBe('match');
      expect(r.output).toContain('Answer to: "Explain TCP"');
      expect(r.usage).toMatchObject({ inputTokens: 200, outputTokens: 100, cachedInputTokens: 50, reasoningTokens: 7 });
      expect(r.cost.usd).toBeCloseTo((150 * 1 + 50 * 0.5 + 100 * 2) / 1e6, 12);
      expect(r.latencyMs).toBeGreaterThanOrEqual(49);
      expect(r.servedBy).toBeNull();
      if (stream) {
        expect(r.ttftMs!).toBeLessThanOrEqual(r.latencyMs);
        expect(r.ttftMs!).toBeGreaterThan(0);
      } else expect(r.ttftMs).toBeNull();
      expect(hf.requests).toHaveLength(1);
      expect(hf.requests[0]!.path).toBe('/v1/chat/completions');
      expect(hf.requests[0]!.stream).toBe(stream);
    });
  }

  const faults: Array<[string, Behavior, string, number | null]> = [
    ['429', { fault: { kind: '429', retryAfterSeconds: 2 } }, 'rate_limited', 429],
    ['429ms', { fault: { kind: '429', retryAfterMs: 750 } }, 'rate_limited', 429],
    ['500', { fault: '500' }, 'server_error', 500],
    ['503', { fault: '503' }, 'server_error', 503],
    ['401', { fault: '401' }, 'auth', 401],
    ['400', { fault: '400' }, 'bad_request', 400],
    ['malformed', { fault: 'malformed' }, 'invalid_response', null],
    ['reset', { fault: 'reset' }, 'connection', null],
  ];
  for (const stream of [true, false]) {
    for (const [name, behavior, type, status] of faults) {
      it(`${stream ? 'stream' : 'plain'}: ${name} → ${type}, exactly one request (no 503 loop)`, async () => {
        hf.setBehavior(behavior);
        const out = (await client.call(endpointModel(`f-${name}`, { stream }), {
          messages: user('x'),
          timeoutMs: 5000,
        })) as CallFailure;
        expect(out.ok).toBe(false);
        expect(out.error.type).toBe(type);
        if (status != null) expect(out.error.httpStatus).toBe(status);
        if (name === '429') expect(out.error.retryAfterMs).toBe(2000);
        if (name === '429ms') expect(out.error.retryAfterMs).toBe(750);
        await new Promise((r) => setTimeout(r, 20));
        expect(hf.countsByModel()).toEqual({ [`f-${name}`]: 1 });
      });
    }
  }

  it('a stream cut after the first chunk → connection', async () => {
    hf.setBehavior({ fault: 'cut', latencyMs: 20 });
    const out = (await client.call(endpointModel('cut'), { messages: user('x') })) as CallFailure;
    expect(out.error.type).toBe('connection');
    expect(hf.countsByModel()).toEqual({ cut: 1 });
  });

  it('timeout and abort', async () => {
    hf.setBehavior({ fault: 'hang' });
    // Long enough for the request to reach the fake on a loaded machine: the test counts it there.
    const t = (await client.call(endpointModel('hang'), { messages: user('x'), timeoutMs: 1_000 })) as CallFailure;
    expect(t.error.type).toBe('timeout');
    const ac = new AbortController();
    const pending = client.call(endpointModel('hang', { stream: false }), { messages: user('x'), signal: ac.signal });
    await until(() => hf.countsByModel().hang === 2, 30_000);
    ac.abort();
    const a = (await pending) as CallFailure;
    expect(a.error.type).toBe('aborted');
    expect(hf.countsByModel()).toEqual({ hang: 2 });
  });

  it('the token never appears in an outcome even when the error body echoes it', async () => {
    const outs: unknown[] = [];
    for (const fault of ['401', '500', '400'] as const) {
      hf.setBehavior({ fault, echoAuthInError: true });
      for (const stream of [true, false])
        outs.push(await client.call(endpointModel('echo', { stream }), { messages: user('x') }));
    }
    const s = JSON.stringify(outs);
    expect(s).not.toContain(TOKEN);
    expect(s).not.toContain('plantedSecret');
  });
});

describe('huggingface provider, Inference Providers (router, redirected to the fake through the fetch option)', () => {
  it('auto router: /v1/chat/completions, servedBy from x-inference-provider', async () => {
    hf.setBehavior({ servedBy: 'together', answerAs: 'Qwen/Qwen2.5-7B-Instruct-Turbo' });
    const r = (await routed.call(routedModel('Qwen/Qwen2.5-7B-Instruct'), { messages: user('hello') })) as CallResult;
    expect(r.ok).toBe(true);
    expect(r.servedBy).toBe('together');
    expect(r.responseModel).toBe('Qwen/Qwen2.5-7B-Instruct-Turbo');
    expect(r.attribution).toBe('mismatch');
    expect(hf.requests[0]!.path).toBe('/v1/chat/completions');
  });

  it('named provider hf-inference: model route, provider recorded', async () => {
    for (const stream of [true, false]) {
      const r = (await routed.call(
        routedModel('meta-llama/Llama-3.1-8B-Instruct', { hfProvider: 'hf-inference', stream }),
        { messages: user('hello') },
      )) as CallResult;
      expect(r.ok).toBe(true);
      expect(r.servedBy).toBe('hf-inference');
      expect(r.attribution).toBe('match');
    }
    const paths = hf.requests.map((q) => q.path);
    expect(paths).toEqual([
      '/hf-inference/models/meta-llama/Llama-3.1-8B-Instruct/v1/chat/completions',
      '/hf-inference/models/meta-llama/Llama-3.1-8B-Instruct/v1/chat/completions',
    ]);
  });

  it('named third-party provider (together): provider route', async () => {
    const r = (await routed.call(routedModel('deepseek-ai/DeepSeek-V3', { hfProvider: 'together' }), {
      messages: user('hello'),
    })) as CallResult;
    expect(r.ok).toBe(true);
    expect(r.servedBy).toBe('together');
    expect(hf.requests[0]!.path).toBe('/together/v1/chat/completions');
  });
});
