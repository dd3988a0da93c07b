// Attribution under stress: six models on two wires (one provider reporting a dated alias), three
// overlapping runs, a registry edit of a model mid-run, a subscriber that drops and resumes from
// its last event id, and a SIGKILL of the server with everything in flight. Afterwards every
// trace and assistant message names the model the provider was really asked for, by the fake's
// own request log: each answer is signed with the model its request named.

import { createDb } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST, tempDatabase } from '@batchlight/db/testing';
import { type BehaviorSpec, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { describe, expect, it } from 'vitest';
import {
  allTraces,
  cleanupsAfterAll,
  collectEvents,
  fakeModel,
  makeClient,
  serverProcess,
  waitFor,
} from './helpers.js';

const PROMPTS = 30;

describe.each(PROVIDERS_UNDER_TEST)('attribution torture on %s', (provider) => {
  const cleanups = cleanupsAfterAll();

  it('records each call under the model the provider was asked for, through an edit, a drop, a SIGKILL', async () => {
    const db = await tempDatabase(provider);
    cleanups.push(() => db.drop());
    // 40-120 ms a call (the runs overlap for seconds); every answer ends with `[for <model asked>]`.
    const behavior: BehaviorSpec = (req) => ({
      latencyMs: 40 + ((req.messages[0]!.content.length * 37 + req.seq * 11) % 80),
      signAnswer: true,
      ...(req.model === 'tort-alias' ? { answerAs: 'tort-alias-2025-01-01' } : {}),
    });
    const [openai, hf] = await Promise.all([startFakeOpenAI({ behavior }), startFakeHuggingFace({ behavior })]);
    cleanups.push(
      () => openai.close(),
      () => hf.close(),
    );

    let server = await serverProcess(db.url);
    cleanups.push(() => server.stop('SIGKILL'));
    let api = makeClient(server.url);
    const c = () => api.client;
    const m = [
      await fakeModel(c(), openai.url, 'tort-a'),
      await fakeModel(c(), openai.url, 'tort-b'),
      await fakeModel(c(), openai.url, 'tort-alias'),
      await fakeModel(c(), openai.url, 'tort-d'),
      await fakeModel(c(), hf.url, 'org/tort-e', { provider: 'huggingface' }),
      await fakeModel(c(), hf.url, 'org/tort-f', { provider: 'huggingface' }),
    ];
    // Each run its own prompts, so a (model, prompt) pair names one item of one run.
    const set = (tag: string) =>
      c().promptSets.create.mutate({
        name: tag,
        prompts: Array.from({ length: PROMPTS }, (_, i) => ({ input: `${tag} prompt ${i}` })),
      });
    const [setA, setB, setC] = [await set('A'), await set('B'), await set('C')];
    const start = (setId: string, models: typeof m) =>
      c().runs.create.mutate({ promptSetId: setId, modelIds: models.map((x) => x.id), concurrency: 6, delayMs: 0 });
    const runA = await start(setA.id, [m[0]!, m[1]!, m[2]!, m[3]!]);
    const runB = await start(setB.id, [m[2]!, m[3]!, m[4]!, m[5]!]);

    // A subscriber to run A takes its first 25 events and drops.
    const early = await collectEvents(c(), runA.id, { stopAfter: 25 });
    // The registry changes what model 0 sends, mid-run: run A keeps its snapshot, run C takes the edit.
    await waitFor(async () => (await c().runs.get.query({ id: runA.id })).completedItems >= 20);
    await c().models.update.mutate({ id: m[0]!.id, providerModel: 'tort-a-v2' });
    const runC = await start(setC.id, [m[0]!, m[1]!, m[4]!]);
    await waitFor(async () => (await c().runs.get.query({ id: runC.id })).completedItems >= 6);
    const running = await Promise.all([runA, runB, runC].map((r) => c().runs.get.query({ id: r.id })));
    expect(running.map((r) => r.executing)).toEqual([true, true, true]);
    api.close();
    await server.stop('SIGKILL');

    server = await serverProcess(db.url);
    cleanups.push(() => server.stop('SIGKILL'));
    api = makeClient(server.url);
    // The dropped subscriber resumes from its last event id, across the crash.
    const late = await collectEvents(c(), runA.id, { lastEventId: String(early.at(-1)!.seq), timeoutMs: 60_000 });
    const logA = [...early, ...late];
    expect(logA.map((e) => e.seq)).toEqual(logA.map((_, i) => i + 1));
    const logs = [
      logA,
      await collectEvents(c(), runB.id, { timeoutMs: 60_000 }),
      await collectEvents(c(), runC.id, { timeoutMs: 60_000 }),
    ];

    const store = await createDb(db.url);
    cleanups.push(() => store.close());
    const fakeLog = [...openai.requests, ...hf.requests];
    let checked = 0;
    for (const [k, run] of [runA, runB, runC].entries()) {
      const label = `run ${'ABC'[k]}`;
      const got = await c().runs.get.query({ id: run.id });
      expect([got.status, got.failedItems, got.completedItems], label).toEqual(['completed', 0, got.totalItems]);
      const audit = await c().runs.audit.query({ runId: run.id });
      expect([audit.ok, audit.findingsTotal], label).toEqual([true, 0]);
      const sends = new Map(got.models.map((x) => [x.modelId, x.providerModel]));
      const traces = await allTraces(c(), run.id);
      checked += traces.length;
      const ok = traces.filter((tr) => tr.status === 'ok');
      expect(ok, label).toHaveLength(got.totalItems);
      for (const tr of traces) expect(tr.requestedModel, label).toBe(sends.get(tr.modelId));
      const full = await store.prisma.trace.findMany({
        where: { runId: run.id, status: 'ok' },
        select: { id: true, modelId: true, requestedModel: true, output: true, input: true },
      });
      const messages = await store.prisma.message.findMany({ where: { runId: run.id, role: 'assistant' } });
      expect(messages, label).toHaveLength(full.length);
      const byTrace = new Map(full.map((tr) => [tr.id, tr]));
      for (const tr of full) {
        // The answer says which model its request named: the one the trace names.
        expect(tr.output!.endsWith(`[for ${tr.requestedModel}]`), `${label} ${tr.output!.slice(-40)}`).toBe(true);
        // And the fake saw a request for that model with that prompt, answered in full.
        const prompt = (tr.input as Array<{ content: string }>)[0]!.content;
        expect(
          fakeLog.some((r) => r.model === tr.requestedModel && r.body.preview === prompt && r.status === 200),
          `${label} ${prompt}`,
        ).toBe(true);
      }
      for (const msg of messages) {
        const tr = byTrace.get(msg.traceId!)!;
        expect([msg.modelId, msg.providerModel, msg.content], label).toEqual([
          tr.modelId,
          tr.requestedModel,
          tr.output,
        ]);
      }
      for (const e of logs[k]!) {
        if (e.type !== 'item.completed') continue;
        expect([e.payload.modelId, e.payload.requestedModel], label).toEqual([
          byTrace.get(e.payload.traceId)!.modelId,
          byTrace.get(e.payload.traceId)!.requestedModel,
        ]);
      }
    }
    // The edit reached run C only; run A sent model 0's old name before and after the crash.
    const sent = (tag: string, model: string) =>
      fakeLog.filter((r) => r.body.preview.startsWith(`${tag} `) && r.model === model).length;
    expect([
      sent('A', 'tort-a') >= PROMPTS,
      sent('A', 'tort-a-v2'),
      sent('C', 'tort-a'),
      sent('C', 'tort-a-v2') >= PROMPTS,
    ]).toEqual([true, 0, 0, true]);
    // Every answer the fake signed for a model it was asked for, on every wire.
    for (const r of fakeLog.filter((x) => x.status === 200))
      expect(r.responseModel).toBe(r.model === 'tort-alias' ? 'tort-alias-2025-01-01' : r.model);
    console.log(
      `[attribution] ${provider}: ${checked} traces, ${logs.flat().length} events, ${fakeLog.length} requests, ` +
        '0 misattributed',
    );
    api.close();
    await server.stop();
  });
});
