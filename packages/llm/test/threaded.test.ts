// The threaded client keeps the in-process client's contract across the thread boundary. Its
// worker runs the built package (dist): `pnpm test` builds first.

import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThreadedLlmClient } from '../dist/index.js';
import type { CallFailure, CallResult } from '../src/index.js';
import { makeModel, user } from './helpers.js';

const KEY = 'sk-threaded-secret-0123456789';
let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());

const model = () =>
  makeModel({
    provider: 'openai',
    providerModel: 'gpt-t',
    baseUrl: `${fake.url}/v1`,
    credential: { kind: 'secret', value: KEY },
  });

describe('createThreadedLlmClient', () => {
  it('returns outcomes that carry the very model object called with, and sends its stored key', async () => {
    const client = createThreadedLlmClient();
    let auth: string | undefined;
    fake.setBehavior((req) => {
      auth = req.authorization;
      return {};
    });
    try {
      const m = model();
      const out = (await client.call(m, { messages: user('hello') })) as CallResult;
      expect(out.ok).toBe(true);
      expect(out.model).toBe(m);
      expect(out.requestedModel).toBe('gpt-t');
      expect(out.output.length).toBeGreaterThan(0);
      expect(out.startedAt).toBeInstanceOf(Date);
      expect(auth).toBe(`Bearer ${KEY}`);
    } finally {
      fake.setBehavior(undefined);
      await client.close();
    }
  });

  it('aborts a call in flight through the caller signal, and fails what is pending on close', async () => {
    const client = createThreadedLlmClient();
    fake.setBehavior({ latencyMs: 5_000 });
    try {
      const ac = new AbortController();
      const aborted = client.call(model(), { messages: user('slow'), signal: ac.signal });
      setTimeout(() => ac.abort(new Error('cancelled by the user')), 100);
      const a = (await aborted) as CallFailure;
      expect(a.ok).toBe(false);
      expect(a.error.type).toBe('aborted'); // the abort ended it, not the answer 5 s away

      const pending = client.call(model(), { messages: user('slow') });
      await new Promise((r) => setTimeout(r, 100));
      await client.close();
      expect(((await pending) as CallFailure).error.type).toBe('aborted');
      expect(((await client.call(model(), { messages: user('late') })) as CallFailure).error.message).toMatch(/closed/);
    } finally {
      fake.setBehavior(undefined);
    }
  });
});
