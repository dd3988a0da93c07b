import { describe, expect, it } from 'vitest';
import { type CallFailure, type CallResult, createLlmClient, type SimulationParams } from '../src/index.js';
import { drawLatency, mulberry32 } from '../src/providers/simulated.js';
import { makeModel, user } from './helpers.js';

const client = createLlmClient();
const sim = (simulation: SimulationParams, providerModel = 'sim-fast') =>
  makeModel({ provider: 'simulated', providerModel, params: { simulation }, credential: { kind: 'none' } });

describe('simulated provider', () => {
  it('answers deterministically from the prompt, with usage, cost and timings', async () => {
    const m = sim({ seed: 7, latencyMs: 40, ttftFraction: 0.25, outputTokens: { min: 10, max: 30 } });
    const a = (await client.call(m, { messages: user('Explain compound interest please') })) as CallResult;
    const b = (await client.call(m, { messages: user('Explain compound interest please') })) as CallResult;
    expect(a.ok).toBe(true);
    expect(a.model).toBe(m);
    expect(a.output).toMatch(/^Simulated answer to: Explain compound interest please/);
    expect(a.output).toBe(b.output);
    expect(a.usage.outputTokens).toBe(b.usage.outputTokens);
    expect(a.usage.outputTokens!).toBeGreaterThanOrEqual(10);
    expect(a.usage.outputTokens!).toBeLessThanOrEqual(30);
    expect(a.usage.inputTokens).toBe(Math.ceil('Explain compound interest please'.length / 4));
    expect(a.responseModel).toBe('sim-fast');
    expect(a.attribution).toBe('match');
    expect(a.cost.source).toBe('pricing');
    expect(a.latencyMs).toBeGreaterThanOrEqual(39);
    expect(a.ttftMs!).toBeGreaterThanOrEqual(8);
    expect(a.ttftMs!).toBeLessThanOrEqual(a.latencyMs);
  });

  it('latency distribution from {p50, p95} is roughly right', async () => {
    // The drawn latencies, free of timer lateness on a busy machine...
    const rng = mulberry32(7);
    const drawn = Array.from({ length: 4000 }, () => drawLatency({ p50: 20, p95: 60 }, rng)).sort((x, y) => x - y);
    expect(drawn[2000]!).toBeGreaterThan(17);
    expect(drawn[2000]!).toBeLessThan(23);
    expect(drawn[3800]!).toBeGreaterThan(50);
    expect(drawn[3800]!).toBeLessThan(70);
    // ...and the calls really take them (a timer fires late, never early).
    const m = sim({ seed: 1, latencyMs: { p50: 20, p95: 60 } });
    const outs = (await Promise.all(
      Array.from({ length: 80 }, (_, i) => client.call(m, { messages: user(`prompt ${i}`) })),
    )) as CallResult[];
    const lat = outs.map((o) => o.latencyMs).sort((x, y) => x - y);
    expect(lat[40]!).toBeGreaterThanOrEqual(10);
    expect(new Set(lat).size).toBeGreaterThan(5);
  });

  it('cuts an answer longer than maxTokens there, with finish_reason length', async () => {
    const long = { seed: 3, latencyMs: 0, outputTokens: { min: 40, max: 60 } };
    const free = (await client.call(sim(long), { messages: user('x') })) as CallResult;
    const cut = (await client.call(sim(long), { messages: user('x'), params: { maxTokens: 12 } })) as CallResult;
    expect([free.finishReason, cut.finishReason]).toEqual(['stop', 'length']);
    expect(free.usage.outputTokens!).toBeGreaterThan(12);
    expect(cut.usage.outputTokens).toBe(12);
    expect(free.output.startsWith(cut.output)).toBe(true);
  });

  it('answerAs changes the response model (alias vs mismatch)', async () => {
    const alias = (await client.call(sim({ latencyMs: 0, answerAs: 'sim-fast-2025-01-01' }), {
      messages: user('x'),
    })) as CallResult;
    expect(alias.attribution).toBe('alias');
    const other = (await client.call(sim({ latencyMs: 0, answerAs: 'gpt-4o' }, 'gpt-5-mini'), {
      messages: user('x'),
    })) as CallResult;
    expect(other.requestedModel).toBe('gpt-5-mini');
    expect(other.responseModel).toBe('gpt-4o');
    expect(other.attribution).toBe('mismatch');
  });

  it('errorRate → server_error 500; rateLimitRate → rate_limited with retryAfterMs; attempt re-seeds', async () => {
    const e = (await client.call(sim({ latencyMs: 0, errorRate: 1 }), { messages: user('x') })) as CallFailure;
    expect(e.error).toMatchObject({ type: 'server_error', httpStatus: 500 });
    const r = (await client.call(sim({ latencyMs: 0, rateLimitRate: 1, retryAfterMs: 1500 }), {
      messages: user('x'),
    })) as CallFailure;
    expect(r.error).toMatchObject({ type: 'rate_limited', httpStatus: 429, retryAfterMs: 1500 });
    const half = sim({ seed: 3, latencyMs: 0, errorRate: 0.5 });
    const firsts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.call(half, { messages: user(`p${i}`) })),
    );
    const again = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.call(half, { messages: user(`p${i}`) })),
    );
    expect(firsts.map((o) => o.ok)).toEqual(again.map((o) => o.ok));
    const failed = firsts.filter((o) => !o.ok).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
    const retried = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.call(half, { messages: user(`p${i}`), attempt: 2 })),
    );
    expect(retried.map((o) => o.ok)).not.toEqual(firsts.map((o) => o.ok));
  });

  it('without a seed, the same call draws afresh each time (faults come and go)', async () => {
    const unseeded = sim({ latencyMs: 0, errorRate: 0.5 });
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () => client.call(unseeded, { messages: user('the same prompt') })),
    );
    const failed = outcomes.filter((o) => !o.ok).length;
    // Seeded, 60 identical calls would all fail or all succeed.
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(60);
  });

  it('timeout and abort clear their timers', async () => {
    // Outcomes, not durations: a 5 s answer that ends as a timeout or an abort was cut by them.
    const slow = sim({ latencyMs: 5000 });
    const t = (await client.call(slow, { messages: user('x'), timeoutMs: 60 })) as CallFailure;
    expect(t.error).toMatchObject({ type: 'timeout', message: 'timed out after 60 ms' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const a = (await client.call(slow, { messages: user('x'), signal: ac.signal })) as CallFailure;
    expect(a.error.type).toBe('aborted');
    const pre = (await client.call(slow, { messages: user('x'), signal: AbortSignal.abort() })) as CallFailure;
    expect(pre.error.type).toBe('aborted');
    expect(pre.firstTokenAt).toBeNull();
  });
});
