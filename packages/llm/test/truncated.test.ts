// How a stream's end decides a call's outcome, on the OpenAI wire and the Hugging Face wire (both
// through the testkit fakes and the real SDKs). A stream is complete when it says so: a chunk with
// a finish_reason, or the [DONE] line. One that ends cleanly with neither was cut off on the way
// (a proxy or a provider gave up): `truncated`, retried by the engine like a connection error,
// with what arrived kept for the trace. The same cut-off without streaming is a JSON body that
// does not parse: `invalid_response`, as before.

import { type Behavior, type FakeServer, fakeAnswer, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThreadedLlmClient } from '../dist/index.js';
import { type CallOutcome, createLlmClient, type ErrorType, type LlmClient, RETRYABLE } from '../src/index.js';
import { makeModel, user } from './helpers.js';

interface Case {
  name: string;
  behavior: Behavior;
  stream: boolean;
  /** `ok` with this finish reason, or the error type. */
  expect:
    | { ok: true; finishReason: string | null; usage: boolean }
    | { ok: false; type: ErrorType; partial: 'half' | 'all' | null };
}

export const TRUNCATION_CASES: Case[] = [
  { name: 'complete stream', behavior: {}, stream: true, expect: { ok: true, finishReason: 'stop', usage: true } },
  {
    name: 'complete stream, finish_reason length',
    behavior: { finishReason: 'length' },
    stream: true,
    expect: { ok: true, finishReason: 'length', usage: true },
  },
  {
    name: 'ends after half the content',
    behavior: { fault: { kind: 'truncate', after: 'half' } },
    stream: true,
    expect: { ok: false, type: 'truncated', partial: 'half' },
  },
  {
    name: 'ends after the last content chunk, before finish',
    behavior: { fault: { kind: 'truncate', after: 'content' } },
    stream: true,
    expect: { ok: false, type: 'truncated', partial: 'all' },
  },
  {
    name: 'finish_reason, then ends (no usage, no [DONE])',
    behavior: { fault: { kind: 'truncate', after: 'finish' } },
    stream: true,
    expect: { ok: true, finishReason: 'stop', usage: false },
  },
  {
    name: 'finish_reason and usage, then ends (no [DONE])',
    behavior: { fault: { kind: 'truncate', after: 'usage' } },
    stream: true,
    expect: { ok: true, finishReason: 'stop', usage: true },
  },
  {
    name: '[DONE] but no finish_reason',
    behavior: { fault: { kind: 'no-finish' } },
    stream: true,
    expect: { ok: true, finishReason: null, usage: true },
  },
  {
    name: 'socket reset after the first chunk',
    behavior: { fault: 'cut' },
    stream: true,
    expect: { ok: false, type: 'connection', partial: null },
  },
  {
    name: 'not streaming: half the JSON body',
    behavior: { fault: { kind: 'truncate', after: 'half' } },
    stream: false,
    expect: { ok: false, type: 'invalid_response', partial: null },
  },
];

const KEY = 'sk-truncation-test-key-0123456789';
const PROMPT = 'Explain TCP congestion control';
const fakes: Record<'openai' | 'huggingface', FakeServer> = {} as never;
const threaded = createThreadedLlmClient();
const clients: Array<[string, LlmClient]> = [
  ['in process', createLlmClient()],
  ['on the worker thread', threaded],
];

beforeAll(async () => {
  [fakes.openai, fakes.huggingface] = await Promise.all([startFakeOpenAI(), startFakeHuggingFace()]);
});
afterAll(async () => {
  await Promise.all([fakes.openai.close(), fakes.huggingface.close(), threaded.close()]);
});

const modelOn = (wire: 'openai' | 'huggingface', stream: boolean) =>
  makeModel({
    provider: wire,
    providerModel: wire === 'openai' ? 'gpt-5-mini' : 'Qwen/Qwen2.5-7B-Instruct',
    baseUrl: wire === 'openai' ? `${fakes.openai.url}/v1` : fakes.huggingface.url,
    params: { stream },
    credential: { kind: 'secret', value: KEY },
  });

describe.each(['openai', 'huggingface'] as const)('the end of a stream on the %s wire', (wire) => {
  describe.each(clients)('%s', (_, client) => {
    it.each(TRUNCATION_CASES)('$name', async (c) => {
      fakes[wire].setBehavior({ latencyMs: 10, outputTokens: 12, ...c.behavior });
      const out: CallOutcome = await client.call(modelOn(wire, c.stream), { messages: user(PROMPT), timeoutMs: 5_000 });
      const words = fakeAnswer(user(PROMPT), 12).split(' ');
      if (c.expect.ok) {
        expect(out.ok ? null : out.error).toBeNull();
        if (!out.ok) return;
        expect(out.finishReason).toBe(c.expect.finishReason);
        expect(out.output).toBe(words.join(' '));
        expect(out.usage.outputTokens).toBe(c.expect.usage ? words.length : null);
        return;
      }
      expect(out.ok).toBe(false);
      if (out.ok) return;
      expect(out.error.type).toBe(c.expect.type);
      expect(out.error.message).not.toContain(KEY);
      if (c.expect.partial === null) expect(out.output ?? null).toBeNull();
      else
        expect(out.output).toBe(
          words.slice(0, c.expect.partial === 'half' ? Math.ceil(words.length / 2) : words.length).join(' '),
        );
    });
  });
});

describe('a truncated stream is retried like a connection error', () => {
  it('truncated is in the retryable set, invalid_response is not', () => {
    expect(RETRYABLE).toContain('truncated');
    expect(RETRYABLE).toContain('connection');
    expect(RETRYABLE).not.toContain('invalid_response');
  });
});
