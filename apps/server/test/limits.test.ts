// Each limit is a setting (set low here), refused with a 400 naming the field and the setting,
// with nothing written; a trace's output past its limit is cut and says so, on both databases.

import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allTraces,
  collectEvents,
  failure,
  fakeModel,
  promptSet,
  startTestServer,
  type TestServer,
} from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('limits on %s', (provider) => {
  let t: TestServer;
  let fake: FakeServer;
  beforeAll(async () => {
    [t, fake] = await Promise.all([
      startTestServer(provider, {
        env: {
          BATCHLIGHT_MAX_RUN_ITEMS: '100',
          BATCHLIGHT_MAX_PROMPTS_PER_SET: '50',
          BATCHLIGHT_SIM_MAX_OUTPUT_TOKENS: '1000',
          BATCHLIGHT_SIM_MAX_LATENCY_MS: '5000',
          BATCHLIGHT_MAX_TRACE_OUTPUT_CHARS: '1000',
        },
      }),
      startFakeOpenAI({ behavior: { latencyMs: 2, outputTokens: 1500 } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), fake?.close()]);
  });
  const count = (table: 'run' | 'promptSet' | 'model') =>
    (t.server.engine.db.prisma[table] as { count(): Promise<number> }).count();

  it('refuses a run of more items than BATCHLIGHT_MAX_RUN_ITEMS, naming promptLimit, and writes nothing', async () => {
    const c = t.client;
    const demo = (await c.promptSets.list.query()).find((s) => s.name === 'Demo: explain it')!;
    const sims = (await c.models.list.query()).filter((m) => m.provider === 'simulated').map((m) => m.id);
    const runs = await count('run');
    const err = await failure(
      c.runs.create.mutate({ promptSetId: demo.id, modelIds: sims, concurrency: 4, delayMs: 0, repeats: 2 }),
    );
    expect([err.code, Object.keys(err.fieldErrors)]).toEqual(['BAD_REQUEST', ['promptLimit']]);
    expect(err.message).toMatch(/360 items .*at most 100 \(BATCHLIGHT_MAX_RUN_ITEMS\)/);
    expect(await count('run')).toBe(runs);
    const big = await failure(
      c.runs.create.mutate({ promptSetId: demo.id, modelIds: sims, concurrency: 4, delayMs: 0, promptLimit: 1e9 }),
    );
    expect(Object.keys(big.fieldErrors)).toEqual(['promptLimit']);
    expect(await count('run')).toBe(runs);
  });

  it('refuses a set of more prompts than BATCHLIGHT_MAX_PROMPTS_PER_SET, created or imported, saying how', async () => {
    const c = t.client;
    const sets = await count('promptSet');
    const created = await failure(promptSet(c, 51));
    expect([created.code, Object.keys(created.fieldErrors)]).toEqual(['BAD_REQUEST', ['prompts']]);
    expect(created.message).toMatch(/51 prompts; a set holds at most 50 \(BATCHLIGHT_MAX_PROMPTS_PER_SET\)/);
    const content = Array.from({ length: 51 }, (_, i) => JSON.stringify({ input: `q${i}` })).join('\n');
    const imported = await failure(c.promptSets.import.mutate({ name: 'too many', format: 'jsonl', content }));
    expect(Object.keys(imported.fieldErrors)).toEqual(['content']);
    expect(imported.message).toMatch(/split the file/);
    expect(await count('promptSet')).toBe(sets);
    expect((await promptSet(c, 50)).promptCount).toBe(50);
  });

  it('bounds the simulator in the API (naming the field) and again at call time', async () => {
    const c = t.client;
    const models = await count('model');
    const sim = (name: string, simulation: Record<string, unknown>) =>
      c.models.create.mutate({ name, provider: 'simulated', providerModel: name, params: { simulation } });
    for (const [simulation, field] of [
      [{ outputTokens: { min: 1e9, max: 1e9 } }, 'params.simulation.outputTokens.max'],
      [{ outputTokens: { min: 10, max: 1001 } }, 'params.simulation.outputTokens.max'],
      [{ latencyMs: 1e9 }, 'params.simulation.latencyMs'],
      [{ latencyMs: { p50: 10, p95: 5001 } }, 'params.simulation.latencyMs'],
      [{ outputTokens: { min: 5, max: 2 } }, 'params.simulation.outputTokens'],
      [{ errorRate: 2 }, 'params.simulation.errorRate'],
      [{ latencyMs: -1 }, 'params.simulation.latencyMs'],
      [{ unknownKnob: 1 }, 'params.simulation'],
    ] as const) {
      const err = await failure(sim(`sim-${field}`, simulation));
      expect([err.code, Object.keys(err.fieldErrors)], JSON.stringify(simulation)).toEqual(['BAD_REQUEST', [field]]);
    }
    expect(await count('model')).toBe(models);
    // A row written around the API asks for 1e9 tokens: the simulator holds it to the setting.
    const row = await t.server.engine.db.prisma.model.create({
      data: {
        name: 'sim-huge-row',
        provider: 'simulated',
        providerModel: 'huge',
        params: { simulation: { outputTokens: { min: 1e9, max: 1e9 }, latencyMs: 1 } },
      },
    });
    const answer = await c.chat.send.mutate({ modelId: row.id, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.ok && answer.usage.outputTokens).toBe(1000);
  });

  it('cuts an output past BATCHLIGHT_MAX_TRACE_OUTPUT_CHARS, flags the trace and keeps the size', async () => {
    const c = t.client;
    const m = await fakeModel(c, fake.url, 'long-output');
    const set = await promptSet(c, 3, `long-${provider}`);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 3, delayMs: 0 });
    expect((await collectEvents(c, run.id)).at(-1)!.type).toBe('run.finished');
    const traces = await allTraces(c, run.id);
    expect(traces).toHaveLength(3);
    for (const tr of traces) {
      const full = await c.traces.get.query({ id: tr.id });
      expect(full.status).toBe('ok');
      expect(full.output).toHaveLength(1000);
      expect(full.outputTruncated).toBe(true);
      expect(full.outputChars).toBeGreaterThan(5000);
    }
    const short = await c.chat.send.mutate({
      modelId: (await fakeModel(c, fake.url, 'short-output')).id,
      messages: [{ role: 'user', content: 'hi' }],
    });
    fake.setBehavior({ latencyMs: 2, outputTokens: 10 });
    const small = await c.chat.send.mutate({
      modelId: (await fakeModel(c, fake.url, 'small-output')).id,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const stored = await c.traces.get.query({ id: small.traceId });
    expect([stored.outputTruncated, stored.outputChars]).toEqual([false, stored.output!.length]);
    expect(short.ok).toBe(true);
  });
});
