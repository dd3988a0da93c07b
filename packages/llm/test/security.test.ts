// What leaves the LLM package: the key scrubbed from every string a provider sent back (whole,
// cut short, encoded; in the output, model, usage, errors, provider name), models the policy
// refuses never reaching the wire, and outputs and the simulator held within their limits.

import { type EchoKey, type FakeServer, type Fault, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The worker runs the built package (dist): `pnpm test` builds first.
import { createThreadedLlmClient } from '../dist/index.js';
import {
  type CallFailure,
  CallPolicy,
  type CallResult,
  createLlmClient,
  type ResolvedModel,
  SecretScrubber,
} from '../src/index.js';
import { makeModel, user } from './helpers.js';

const KEY = 'sk-proj-Zq81xWv3Lm0pRt5uYb7nHc2dKf9gJs4e';
/** What a leak would show: the key, all but its last 4, 8-character pieces of it at both ends and in the middle. */
const FRAGMENTS = [KEY, KEY.slice(0, -4), KEY.slice(0, 8), KEY.slice(-8), KEY.slice(15, 23), KEY.slice(3, 11)];
const b64 = (s: string) => Buffer.from(s).toString('base64');

function expectNoKey(value: unknown, what = 'value') {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const f of FRAGMENTS) expect(text, `${what} holds ${f}`).not.toContain(f);
  for (const f of [b64(KEY), b64(`Bearer ${KEY}`).slice(4, 40), encodeURIComponent(KEY)])
    expect(text, `${what} holds ${f}`).not.toContain(f);
}

describe('SecretScrubber', () => {
  const s = new SecretScrubber(KEY);

  it('removes the key whole, cut short, and any 8-character piece of it, wherever it starts', () => {
    expect(s.scrub(`a ${KEY} b`)).toBe('a *** b');
    expect(s.scrub(`a ${KEY.slice(0, -4)} b`)).toBe('a *** b');
    expect(s.scrub(`x${KEY.slice(11, 19)}y`)).toBe('x***y');
    expect(s.scrub(`${KEY}${KEY}`)).toBe('***');
    expect(s.scrub(`${KEY.slice(0, 10)}--${KEY.slice(20)}`)).toBe('***--***');
    // Seven characters are not a piece: the rule is "8 or more".
    expect(s.scrub(`a ${KEY.slice(9, 16)} b`)).toBe(`a ${KEY.slice(9, 16)} b`);
    expect(s.scrub(KEY.slice(0, 8))).toBe('***');
  });

  it('removes its base64 (alone, in an Authorization header, at any alignment) and URL encodings', () => {
    for (const prefix of ['', 'x', 'xy', 'Authorization: ']) {
      const out = s.scrub(`seen ${b64(`${prefix}Bearer ${KEY}`)} end`);
      expectNoKey(out);
      expect(out).toMatch(/^seen .*\*\*\*.* end$/);
    }
    expectNoKey(s.scrub(`basic ${b64(`user:${KEY}`)}`));
    const special = new SecretScrubber('key/with+odd=chars&more?');
    expect(special.scrub(`u=${encodeURIComponent('key/with+odd=chars&more?')}`)).toBe('u=***');
  });

  it('leaves text without the key as it was, and makes any text storable', () => {
    const text = `The answer uses sk-proj- as an example prefix and Bearer tokens in general. ${'word '.repeat(1000)}`;
    expect(s.scrub(text)).toBe(text.replace('sk-proj-', '***'));
    expect(new SecretScrubber().scrub('nul\0 and \uD800 lone')).toBe('nul\uFFFD and \uFFFD lone');
    expect(s.scrub('a pair \uD83D\uDE00 stays')).toBe('a pair \uD83D\uDE00 stays');
  });

  it('walks JSON: values, keys and nesting, and stops at a depth', () => {
    const out = s.scrubJson({
      a: [{ note: `by ${KEY}` }],
      [KEY.slice(0, -4)]: 1,
      n: 3,
      deep: JSON.parse('['.repeat(100) + ']'.repeat(100)),
    });
    expectNoKey(out);
    expect((out as { n: number }).n).toBe(3);
    expect(JSON.stringify(out)).toContain('[nested too deep]');
    const proto = s.scrubJson(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });
});

describe('provider echoes of the key, through the real SDKs and the fakes', () => {
  let openai: FakeServer;
  let hf: FakeServer;
  const client = createLlmClient();
  beforeAll(async () => {
    [openai, hf] = await Promise.all([startFakeOpenAI(), startFakeHuggingFace()]);
  });
  afterAll(async () => {
    await Promise.all([openai.close(), hf.close()]);
  });

  const echoes: EchoKey[] = [
    { into: ['model', 'usage', 'output', 'servedBy'] },
    { into: ['model', 'usage', 'output', 'servedBy'], dropLast: 4 },
    { into: ['model', 'usage', 'output'], encoding: 'base64' },
    { into: ['model', 'usage', 'output'], encoding: 'url', dropLast: 4 },
  ];

  for (const provider of ['openai', 'huggingface'] as const) {
    for (const stream of [true, false]) {
      it(`${provider}, ${stream ? 'streaming' : 'not streaming'}: nothing of the key in any outcome`, async () => {
        const fake = provider === 'openai' ? openai : hf;
        const m = makeModel({
          provider,
          providerModel: 'echo-model',
          baseUrl: provider === 'openai' ? `${fake.url}/v1` : fake.url,
          params: { stream },
          credential: { kind: 'secret', value: KEY },
        });
        for (const echoKey of echoes) {
          fake.setBehavior({ echoKey });
          const ok = (await client.call(m, { messages: user('hi') })) as CallResult;
          expect(ok.ok).toBe(true);
          expect(ok.output).toContain('***');
          expect(ok.responseModel).toMatch(/^echo-model:\*\*\*/);
          expect(ok.attribution).toBe('mismatch');
          expectNoKey(ok, JSON.stringify(echoKey));
          for (const fault of ['401', '400', '500', { kind: '429', retryAfterMs: 5 }] satisfies Fault[]) {
            fake.setBehavior({ echoKey: { ...echoKey, into: ['error'] }, fault });
            const failed = (await client.call(m, { messages: user('hi') })) as CallFailure;
            expect(failed.ok).toBe(false);
            expectNoKey(failed, `error ${JSON.stringify(fault)}`);
          }
        }
        // The key reached the provider on every call (so each echo really happened).
        expect(fake.requests.length).toBeGreaterThan(0);
        expect(fake.requests.every((r) => r.headers.authorization === '[present]')).toBe(true);
      });
    }
  }
});

describe('the call policy', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const envModel = (name: string, baseUrl = `${fake.url}/v1`): ResolvedModel =>
    makeModel({ provider: 'openai', providerModel: 'policy-model', baseUrl, credential: { kind: 'env', name } });

  it('sends nothing for a key variable it does not allow, on the main thread and on the worker', async () => {
    process.env.BATCHLIGHT_POLICY_TEST = 'sk-never-sent-0000';
    process.env.LLM_KEY_POLICY_TEST = 'sk-allowed-0000';
    process.env.MY_TEAM_KEY = 'sk-listed-0000';
    const threaded = createThreadedLlmClient({ policy: { credentialEnvs: ['MY_TEAM_KEY'] } });
    try {
      for (const client of [createLlmClient({ policy: { credentialEnvs: ['MY_TEAM_KEY'] } }), threaded]) {
        for (const name of ['PATH', 'BATCHLIGHT_POLICY_TEST', 'DATABASE_URL', 'HOME', 'SOMETHING_ELSE']) {
          const out = (await client.call(envModel(name), { messages: user('x') })) as CallFailure;
          expect(out.ok, name).toBe(false);
          expect(out.error.type).toBe('bad_request');
          expect(out.error.message).toMatch(/^credentialEnv: .*nothing was sent$/);
        }
        expect(fake.total()).toBe(0);
        for (const name of ['LLM_KEY_POLICY_TEST', 'MY_TEAM_KEY'])
          expect((await client.call(envModel(name), { messages: user('x') })).ok, name).toBe(true);
        expect(fake.total()).toBe(2);
        fake.reset();
      }
    } finally {
      await threaded.close();
    }
    // Even the operator's own list cannot name the server's settings.
    expect(
      new CallPolicy({ credentialEnvs: ['BATCHLIGHT_SECRET_KEY'] }).credentialEnvProblem('BATCHLIGHT_SECRET_KEY'),
    ).toMatch(/own settings/);
  });

  it('calls only the listed hosts when BATCHLIGHT_PROVIDER_HOSTS is set', async () => {
    process.env.LLM_KEY_POLICY_TEST = 'sk-allowed-0000';
    const port = new URL(fake.url).port;
    const listed = createLlmClient({ policy: { providerHosts: ['api.openai.com', `127.0.0.1:${port}`] } });
    const other = createLlmClient({ policy: { providerHosts: ['127.0.0.1:1', 'localhost'] } });
    expect((await listed.call(envModel('LLM_KEY_POLICY_TEST'), { messages: user('x') })).ok).toBe(true);
    const refused = (await other.call(envModel('LLM_KEY_POLICY_TEST'), { messages: user('x') })) as CallFailure;
    expect(refused.error.message).toMatch(/^baseUrl: 127\.0\.0\.1:\d+ is not a host this server lets models call/);
    expect(fake.total()).toBe(1);
    const policy = new CallPolicy({ providerHosts: ['api.openai.com', 'router.huggingface.co', '10.0.0.5:8000'] });
    expect(policy.hostProblem('openai', null)).toBeNull();
    expect(policy.hostProblem('huggingface', null)).toBeNull();
    expect(policy.hostProblem('openai', 'http://10.0.0.5:8000/v1')).toBeNull();
    expect(policy.hostProblem('openai', 'http://10.0.0.5:8001/v1')).toMatch(/not a host/);
    expect(policy.hostProblem('openai', 'https://API.OPENAI.COM/v1')).toBeNull();
    expect(policy.hostProblem('openai', 'https://api.openai.com.evil.example/v1')).toMatch(/not a host/);
    expect(policy.hostProblem('openai', 'https://user:pw@api.openai.com/v1')).toMatch(/user name/);
    expect(policy.hostProblem('simulated', null)).toBeNull();
  });
});

describe('limits on what a call produces', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ behavior: { outputTokens: 400 } });
  });
  afterAll(() => fake.close());

  it('keeps the first limits.outputChars of an output, says it was cut and how long it was', async () => {
    const client = createLlmClient({ limits: { outputChars: 100, simulation: { outputTokens: 50, latencyMs: 20 } } });
    for (const stream of [true, false]) {
      const m = makeModel({ provider: 'openai', providerModel: 'long', baseUrl: `${fake.url}/v1`, params: { stream } });
      const r = (await client.call(m, { messages: user('x') })) as CallResult;
      expect(r.output).toHaveLength(100);
      expect(r.outputTruncated).toBe(true);
      expect(r.outputChars).toBeGreaterThan(1000);
    }
    const short = (await createLlmClient().call(
      makeModel({ provider: 'openai', providerModel: 'long', baseUrl: `${fake.url}/v1` }),
      { messages: user('x') },
    )) as CallResult;
    expect([short.outputTruncated, short.outputChars]).toEqual([false, short.output.length]);
  });

  it('holds the simulator within its limits whatever its params ask', async () => {
    const client = createLlmClient({
      limits: { outputChars: 1_000_000, simulation: { outputTokens: 50, latencyMs: 20 } },
    });
    const m = makeModel({
      provider: 'simulated',
      providerModel: 'huge',
      credential: { kind: 'none' },
      params: { simulation: { outputTokens: { min: 1e9, max: 1e9 }, latencyMs: 1e9 } },
    });
    const r = (await client.call(m, { messages: user('x') })) as CallResult;
    expect(r.usage.outputTokens).toBe(50);
    expect(r.latencyMs).toBeLessThan(5_000);
    const nan = makeModel({
      provider: 'simulated',
      providerModel: 'nan',
      credential: { kind: 'none' },
      params: { simulation: { outputTokens: { min: NaN, max: NaN }, latencyMs: NaN } },
    });
    expect(((await client.call(nan, { messages: user('x') })) as CallResult).usage.outputTokens).toBeGreaterThan(0);
  });
});
