import { describe, expect, it } from 'vitest';
import {
  attributionOf,
  backoffMs,
  classifyError,
  computeCost,
  type ErrorType,
  freezeModel,
  parseRetryAfter,
  type ResolvedModel,
  redact,
  resolveApiKey,
  retryPolicy,
  shouldRetry,
  type Usage,
} from '../src/index.js';

describe('attributionOf', () => {
  const table: Array<[string, string | null, string]> = [
    ['gpt-5-mini', null, 'unknown'],
    ['gpt-5-mini', '', 'unknown'],
    ['gpt-5-mini', '   ', 'unknown'],
    ['gpt-5-mini', 'gpt-5-mini', 'match'],
    ['gpt-5-mini', 'GPT-5-Mini', 'match'],
    ['Qwen/Qwen2.5-7B-Instruct', 'qwen/qwen2.5-7b-instruct', 'match'],
    ['gpt-5-mini', 'gpt-5-mini-2025-08-07', 'alias'],
    ['claude-3-opus', 'claude-3-opus-20240229', 'alias'],
    ['gpt-4', 'gpt-4-0613', 'alias'],
    ['gemini-1.5-pro', 'gemini-1.5-pro-001', 'alias'],
    ['llama3', 'llama3:latest', 'alias'],
    ['titan-text', 'titan-text-v1', 'alias'],
    ['gpt-5-mini', 'openai/gpt-5-mini', 'alias'],
    ['Qwen/Qwen2.5-7B-Instruct', 'Qwen2.5-7B-Instruct', 'alias'],
    ['gpt-5-mini', 'gpt-4o', 'mismatch'],
    ['gpt-5-mini', 'Qwen/Qwen2.5-7B-Instruct', 'mismatch'],
    ['gpt-5-mini', 'gpt-5', 'mismatch'],
    ['gpt-5-mini', 'gpt-5-mini-high', 'mismatch'],
    ['gpt-5-mini', 'gpt-5-mini-2025', 'alias'],
    ['gpt-5-mini', 'gpt-5-mini-2025-08', 'mismatch'],
    ['gpt-5-mini', 'gpt-5-mini-12', 'mismatch'],
    ['gpt-5-mini', 'gpt-5-mini-2025-08-07-extra', 'mismatch'],
    ['gpt-5-mini-2025-08-07', 'gpt-5-mini', 'mismatch'],
    ['llama3', 'llama3:8b', 'mismatch'],
    ['Qwen/Qwen2.5-7B-Instruct', 'Other/Qwen2.5-7B-Instruct', 'mismatch'],
    ['Qwen/Qwen2.5-7B-Instruct', 'Qwen/Qwen2.5-72B-Instruct', 'mismatch'],
    ['gpt-5-mini', 'gpt-5-mini-2025-08-07:latest', 'mismatch'],
  ];
  for (const [req, res, want] of table) {
    it(`${req} answered by ${JSON.stringify(res)} → ${want}`, () => {
      expect(attributionOf(req, res)).toBe(want);
    });
  }
});

describe('computeCost', () => {
  const usage = (over: Partial<Usage> = {}): Usage => ({
    inputTokens: 1_000_000,
    outputTokens: 500_000,
    cachedInputTokens: 200_000,
    reasoningTokens: 100_000,
    raw: {},
    ...over,
  });
  it('provider-reported cost wins', () => {
    expect(computeCost(usage(), { inputPerMTok: 1, outputPerMTok: 1 }, 0.42)).toEqual({
      usd: 0.42,
      source: 'provider',
    });
    expect(computeCost(usage(), {}, 0)).toEqual({ usd: 0, source: 'provider' });
  });
  it('pricing per million tokens, cached input at its own price', () => {
    const c = computeCost(usage(), { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 });
    expect(c.source).toBe('pricing');
    expect(c.usd).toBeCloseTo(0.8 * 2 + 0.2 * 0.5 + 0.5 * 8, 10);
  });
  it('cached input falls back to the input price', () => {
    expect(computeCost(usage(), { inputPerMTok: 2, outputPerMTok: 8 }).usd).toBeCloseTo(2 + 4, 10);
    expect(
      computeCost(usage({ cachedInputTokens: null }), { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.1 })
        .usd,
    ).toBeCloseTo(6, 10);
  });
  it('unknown when a needed price or a token count is missing', () => {
    expect(computeCost(usage(), { inputPerMTok: 2 })).toEqual({ usd: null, source: 'unknown' });
    expect(computeCost(usage(), { outputPerMTok: 2, cachedInputPerMTok: 1 })).toEqual({ usd: null, source: 'unknown' });
    expect(computeCost(usage({ outputTokens: null }), { inputPerMTok: 1, outputPerMTok: 1 })).toEqual({
      usd: null,
      source: 'unknown',
    });
    expect(computeCost(usage(), {}, null)).toEqual({ usd: null, source: 'unknown' });
    expect(computeCost(usage(), { inputPerMTok: null, outputPerMTok: 1 }).source).toBe('unknown');
  });
  it('a price is not needed for zero tokens', () => {
    expect(computeCost(usage({ outputTokens: 0 }), { inputPerMTok: 1, cachedInputPerMTok: 1 })).toEqual({
      usd: 1,
      source: 'pricing',
    });
  });
});

describe('retryPolicy', () => {
  const err = (type: ErrorType, retryAfterMs: number | null = null) => ({
    type,
    message: '',
    httpStatus: null,
    retryAfterMs,
  });
  it('retries only transient errors, up to maxRetries', () => {
    for (const t of ['rate_limited', 'timeout', 'connection', 'server_error'] as const) {
      expect(shouldRetry(err(t), 1, 3)).toBe(true);
      expect(shouldRetry(err(t), 3, 3)).toBe(true);
      expect(shouldRetry(err(t), 4, 3)).toBe(false);
      expect(shouldRetry(err(t), 1, 0)).toBe(false);
    }
    for (const t of ['bad_request', 'auth', 'aborted', 'invalid_response'] as const)
      expect(shouldRetry(err(t), 1, 5)).toBe(false);
    expect(retryPolicy.shouldRetry).toBe(shouldRetry);
    expect(retryPolicy.backoffMs).toBe(backoffMs);
  });
  it('grows exponentially, jitter bounded to [exp/2, exp], capped', () => {
    const lo = () => 0;
    const hi = () => 0.999999;
    for (let a = 1; a <= 6; a++) {
      const exp = 100 * 2 ** (a - 1);
      expect(backoffMs(err('server_error'), a, { baseMs: 100, random: lo })).toBe(exp / 2);
      expect(backoffMs(err('server_error'), a, { baseMs: 100, random: hi })).toBe(exp);
    }
    for (let i = 0; i < 200; i++) {
      const v = backoffMs(err('timeout'), 3, { baseMs: 100 });
      expect(v).toBeGreaterThanOrEqual(200);
      expect(v).toBeLessThanOrEqual(400);
    }
    expect(backoffMs(err('timeout'), 30, { baseMs: 100, capMs: 5000, random: hi })).toBe(5000);
    expect(backoffMs(err('timeout'), 1000, { random: hi })).toBe(30_000);
    expect(backoffMs(err('timeout'), 5, { capMs: 10 ** 9, random: hi })).toBeLessThanOrEqual(60_000);
  });
  it('Retry-After is a floor, capped at 60 s', () => {
    expect(backoffMs(err('rate_limited', 5000), 1, { baseMs: 100, random: () => 0.5 })).toBe(5000);
    expect(backoffMs(err('rate_limited', 10), 4, { baseMs: 100, random: () => 0 })).toBe(400);
    expect(backoffMs(err('rate_limited', 3_600_000), 1, { random: () => 0 })).toBe(60_000);
  });
});

describe('classifyError and helpers', () => {
  it('parses retry-after-ms first, then seconds, then an HTTP date', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'Retry-After': 'Wed, 01 Jan 2025 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
  it('maps statuses and causes', () => {
    const st = (status: number, headers?: Record<string, string>) =>
      classifyError(Object.assign(new Error(`${status}`), { status, headers }));
    expect(st(429, { 'retry-after': '1' })).toMatchObject({
      type: 'rate_limited',
      httpStatus: 429,
      retryAfterMs: 1000,
    });
    expect(st(408).type).toBe('timeout');
    expect(st(401).type).toBe('auth');
    expect(st(403).type).toBe('auth');
    for (const s of [400, 404, 409, 422]) expect(st(s).type).toBe('bad_request');
    for (const s of [500, 502, 503, 504]) expect(st(s).type).toBe('server_error');
    expect(classifyError(Object.assign(new Error('x'), { httpResponse: { status: 503 } })).type).toBe('server_error');
    expect(
      classifyError(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))
        .type,
    ).toBe('connection');
    // Node's own, and undici's SocketError under fetch's 'terminated': classified by their codes.
    expect(classifyError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).type).toBe('connection');
    const cut = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyError(cut).type).toBe('connection');
    expect(classifyError(new TypeError('terminated')).type).toBe('invalid_response');
    const quiet = Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
    expect(classifyError(new TypeError('terminated', { cause: quiet })).type).toBe('timeout');
    expect(classifyError(new SyntaxError('Unexpected end of JSON input')).type).toBe('invalid_response');
    expect(classifyError(new Error('x'), { aborted: true }).type).toBe('aborted');
    expect(classifyError(new Error('x'), { timedOut: true, timeoutMs: 5 })).toMatchObject({
      type: 'timeout',
      message: 'timed out after 5 ms',
    });
    expect(
      classifyError(new Error('x'), { response: { status: 429, headers: { 'retry-after-ms': '7' } } }),
    ).toMatchObject({ type: 'rate_limited', retryAfterMs: 7 });
  });
  it('redacts secrets and bearer tokens, trims to 500 chars', () => {
    const e = classifyError(
      Object.assign(new Error(`bad key my-weird-key-value, header Bearer abc.def ${'x'.repeat(900)}`), { status: 401 }),
      { secret: 'my-weird-key-value' },
    );
    expect(e.message).not.toContain('my-weird-key-value');
    expect(e.message).not.toContain('abc.def');
    expect(e.message.length).toBeLessThanOrEqual(500);
    expect(redact('sk-proj-abcdefghijkl and hf_abcdefghijklmnop')).toBe('*** and ***');
  });
});

describe('freezeModel and resolveApiKey', () => {
  const m = (): ResolvedModel => ({
    modelId: 'id',
    name: 'n',
    revision: 1,
    provider: 'simulated',
    providerModel: 'p',
    baseUrl: null,
    params: { simulation: { latencyMs: { p50: 1, p95: 2 }, outputTokens: { min: 1, max: 2 } } },
    pricing: { inputPerMTok: 1 },
    credential: { kind: 'secret', value: 'sk-hidden-0000000' },
  });
  it('deep-freezes and hides the secret from serialisation', () => {
    const x = m();
    const f = freezeModel(x);
    expect(f).toBe(x);
    for (const o of [f, f.params, f.pricing, f.credential, f.params.simulation, f.params.simulation!.latencyMs])
      expect(Object.isFrozen(o)).toBe(true);
    expect(() => {
      (f as { providerModel: string }).providerModel = 'other';
    }).toThrow();
    expect(resolveApiKey(f.credential)).toBe('sk-hidden-0000000');
    expect(JSON.stringify(f)).not.toContain('sk-hidden');
    expect(JSON.stringify({ ...f.credential })).not.toContain('sk-hidden');
    expect(freezeModel(f)).toBe(f);
  });
  it('reads env credentials at call time', () => {
    process.env.BATCHLIGHT_TEST_ENV_KEY = 'k-123';
    expect(resolveApiKey({ kind: 'env', name: 'BATCHLIGHT_TEST_ENV_KEY' })).toBe('k-123');
    delete process.env.BATCHLIGHT_TEST_ENV_KEY;
    expect(resolveApiKey({ kind: 'env', name: 'BATCHLIGHT_TEST_ENV_KEY' })).toBeUndefined();
    expect(resolveApiKey({ kind: 'none' })).toBeUndefined();
  });
});
