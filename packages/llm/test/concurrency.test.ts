import { demoPrompts, type FakeServer, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallOutcome, createLlmClient, type ResolvedModel } from '../src/index.js';
import { makeModel, user } from './helpers.js';

let oa: FakeServer;
let hf: FakeServer;
beforeAll(async () => {
  oa = await startFakeOpenAI();
  hf = await startFakeHuggingFace();
});
afterAll(async () => {
  await oa.close();
  await hf.close();
});

/** A deterministic shuffle. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const a = xs.slice();
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('attribution under concurrency', () => {
  it('~400 interleaved calls over 8 models come back out of order, each naming its own model', async () => {
    const client = createLlmClient();
    const models: ResolvedModel[] = [
      makeModel({ provider: 'openai', providerModel: 'gpt-5-mini', baseUrl: `${oa.url}/v1` }),
      makeModel({ provider: 'openai', providerModel: 'gpt-4o', baseUrl: `${oa.url}/v1`, params: { stream: false } }),
      makeModel({ provider: 'openai', providerModel: 'gpt-5', baseUrl: `${oa.url}/v1` }),
      makeModel({ provider: 'huggingface', providerModel: 'Qwen/Qwen2.5-7B-Instruct', baseUrl: hf.url }),
      makeModel({
        provider: 'huggingface',
        providerModel: 'meta-llama/Llama-3.1-8B-Instruct',
        baseUrl: hf.url,
        params: { stream: false },
      }),
      makeModel({ provider: 'huggingface', providerModel: 'mistralai/Mistral-7B-Instruct-v0.3', baseUrl: hf.url }),
      makeModel({
        provider: 'simulated',
        providerModel: 'sim-a',
        params: { simulation: { seed: 1, latencyMs: { p50: 5, p95: 30 } } },
        credential: { kind: 'none' },
      }),
      makeModel({
        provider: 'simulated',
        providerModel: 'sim-b',
        params: { simulation: { seed: 2, latencyMs: { p50: 5, p95: 30 } } },
        credential: { kind: 'none' },
      }),
    ];
    const perModel = 50;
    const prompts = demoPrompts(perModel);
    const jobs = shuffled(
      models.flatMap((m) => prompts.map((p, i) => ({ m, p: `${p} [${i}]` }))),
      42,
    );

    // Gate every HTTP response; release them in reverse order of arrival, in random batches.
    const waiting: Array<() => void> = [];
    const gate = () => new Promise<void>((r) => waiting.push(r));
    // Each gpt-5* model answers with its own dated snapshot: the response must pair with its request.
    oa.setBehavior((req) => ({
      gate,
      answerAs: req.model.startsWith('gpt-5') ? `${req.model}-2025-08-07` : undefined,
    }));
    hf.setBehavior({ gate });
    oa.reset();
    hf.reset();

    const completionOrder: string[] = [];
    const promises = jobs.map(({ m, p }) =>
      client.call(m, { messages: user(p), timeoutMs: 20_000 }).then((o) => {
        completionOrder.push(`${o.model.modelId}`);
        return { job: { m, p }, o };
      }),
    );
    const httpCalls = jobs.filter((j) => j.m.provider !== 'simulated').length;
    const deadline = Date.now() + 10_000;
    while (oa.total() + hf.total() < httpCalls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    while (waiting.length < httpCalls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(waiting.length).toBe(httpCalls);
    // Release in reverse arrival order.
    for (const release of waiting.splice(0).reverse()) release();

    const results = await Promise.all(promises);
    oa.setBehavior(undefined);
    hf.setBehavior(undefined);

    const byModel = new Map<string, CallOutcome[]>();
    for (const { job, o } of results) {
      expect(o.ok).toBe(true);
      expect(o.model).toBe(job.m);
      expect(o.model.modelId).toBe(job.m.modelId);
      expect(o.requestedModel).toBe(job.m.providerModel);
      if (o.ok) {
        const dated = job.m.provider === 'openai' && job.m.providerModel.startsWith('gpt-5');
        expect(o.responseModel).toBe(dated ? `${job.m.providerModel}-2025-08-07` : job.m.providerModel);
        expect(o.attribution).toBe(dated ? 'alias' : 'match');
        expect(o.output).toContain(job.p.slice(0, 20));
      }
      const list = byModel.get(o.model.modelId) ?? [];
      list.push(o);
      byModel.set(o.model.modelId, list);
    }
    for (const m of models) expect(byModel.get(m.modelId)).toHaveLength(perModel);

    // Cross-check against the fakes' own logs.
    const counts = { ...oa.countsByModel(), ...hf.countsByModel() };
    for (const m of models.filter((x) => x.provider !== 'simulated')) expect(counts[m.providerModel]).toBe(perModel);
    for (const r of [...oa.requests, ...hf.requests]) expect(r.responseModel!.startsWith(r.model)).toBe(true);
    expect(oa.maxInFlight() + hf.maxInFlight()).toBeGreaterThan(50);

    // Out of order really happened: completion order differs from submission order.
    expect(completionOrder).not.toEqual(jobs.map((j) => j.m.modelId));
  }, 25_000);
});
