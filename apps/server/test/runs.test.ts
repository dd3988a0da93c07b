import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { type FakeServer, startFakeHuggingFace, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allItems,
  allTraces,
  collectEvents,
  fakeModel,
  promptSet,
  requestsByPrompt,
  startTestServer,
  type TestServer,
  waitFor,
} from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('batch runs end to end on %s', (provider) => {
  let t: TestServer;
  let openai: FakeServer;
  let hf: FakeServer;

  beforeAll(async () => {
    [t, openai, hf] = await Promise.all([startTestServer(provider), startFakeOpenAI(), startFakeHuggingFace()]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), openai?.close(), hf?.close()]);
  });

  it('runs several models at concurrency > 1 with exact counters, and the fake saw exactly what the traces say', async () => {
    openai.reset();
    hf.reset();
    openai.setBehavior({ latencyMs: { p50: 15, p95: 40 } });
    hf.setBehavior({ latencyMs: { p50: 15, p95: 40 } });
    const c = t.client;
    const models = [
      await fakeModel(c, openai.url, 'gpt-5-mini'),
      await fakeModel(c, openai.url, 'gpt-4o-mini'),
      await fakeModel(c, hf.url, 'Qwen/Qwen2.5-7B-Instruct', { provider: 'huggingface' }),
    ];
    const set = await promptSet(c, 20);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.id),
      concurrency: 8,
      delayMs: 0,
      repeats: 2,
    });
    expect(run.totalItems).toBe(120);
    const events = await collectEvents(c, run.id);
    const finished = events.at(-1)!;
    expect(finished.type).toBe('run.finished');

    const got = await c.runs.get.query({ id: run.id });
    expect(got.status).toBe('completed');
    expect([got.completedItems, got.failedItems, got.cancelledItems]).toEqual([120, 0, 0]);
    const items = await allItems(c, run.id);
    expect(items).toHaveLength(120);
    expect(items.every((i) => i.status === 'completed' && i.attempts === 1)).toBe(true);

    const traces = await allTraces(c, run.id);
    expect(traces).toHaveLength(120);
    const byId = new Map(models.map((m) => [m.id, m]));
    for (const tr of traces) {
      expect(tr.requestedModel).toBe(byId.get(tr.modelId)!.providerModel);
      expect(tr.responseModel).toBe(tr.requestedModel);
      expect(tr.attribution).toBe('match');
    }
    // The fakes' request logs agree, model by model, with the traces.
    const seen = { ...openai.countsByModel(), ...hf.countsByModel() };
    for (const m of models) expect(seen[m.providerModel]).toBe(traces.filter((tr) => tr.modelId === m.id).length);
    expect(openai.total() + hf.total()).toBe(120);
    // Every completed item's event names the same model as its trace.
    const completed = events.filter((e) => e.type === 'item.completed');
    expect(completed).toHaveLength(120);
    const traceModel = new Map(traces.map((tr) => [tr.id, tr.modelId]));
    for (const e of completed)
      if (e.type === 'item.completed') expect(traceModel.get(e.payload.traceId)).toBe(e.payload.modelId);
    const audit = await c.runs.audit.query({ runId: run.id });
    expect(audit.ok).toBe(true);
    expect(audit.tracesChecked).toBe(120);
  });

  it('holds concurrency as a hard cap and delayMs as the minimum gap between starts, measured at the fake', async () => {
    const c = t.client;
    openai.reset();
    openai.setBehavior({ latencyMs: 40 });
    const m = await fakeModel(c, openai.url, 'cap-model');
    const set = await promptSet(c, 30);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 3, delayMs: 0 });
    await collectEvents(c, run.id);
    expect(openai.maxInFlight()).toBeLessThanOrEqual(3);
    expect(openai.maxInFlight()).toBe(3);

    openai.reset();
    openai.setBehavior({ latencyMs: 5 });
    const run2 = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 4,
      delayMs: 25,
      promptLimit: 12,
    });
    await collectEvents(c, run2.id);
    const starts = openai.requests.map((r) => r.startedAt).sort((a, b) => a - b);
    expect(starts).toHaveLength(12);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    // The engine starts calls >= 25 ms apart (its own trace timestamps, ms resolution)...
    const traceStarts = (await allTraces(c, run2.id))
      .map((tr) => new Date(tr.startedAt).getTime())
      .sort((a, b) => a - b);
    expect(Math.min(...traceStarts.slice(1).map((s, i) => s - traceStarts[i]!))).toBeGreaterThanOrEqual(24);
    // ...and the fake sees them so. The LLM client keeps the gap on the wire (counted from the
    // end of each write); the fake reads its clock when this process's event loop, which the
    // server shares, gets to a request: on a busy machine tens of ms late, by more for one request
    // than the next, which reads as one long gap and one short one. Hence the mean (one late
    // reading moves it by its lateness / 11) and the median, with room for that; unspaced, both
    // would be a few ms (4 calls in flight, 5 ms each).
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeGreaterThanOrEqual(22);
    expect([...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]).toBeGreaterThanOrEqual(18);
  });

  it('flags a provider that answers with another model as a mismatch, in the trace and in runs.audit', async () => {
    const c = t.client;
    openai.reset();
    openai.setBehavior((req) =>
      req.model === 'honest-model' ? { latencyMs: 2 } : { latencyMs: 2, answerAs: 'qwen-2.5-7b' },
    );
    const honest = await fakeModel(c, openai.url, 'honest-model');
    const liar = await fakeModel(c, openai.url, 'gpt-5-mini');
    const set = await promptSet(c, 5);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [honest.id, liar.id],
      concurrency: 4,
      delayMs: 0,
    });
    const events = await collectEvents(c, run.id);
    const traces = await allTraces(c, run.id);
    const bad = traces.filter((tr) => tr.modelId === liar.id);
    expect(bad).toHaveLength(5);
    for (const tr of bad)
      expect([tr.requestedModel, tr.responseModel, tr.attribution]).toEqual(['gpt-5-mini', 'qwen-2.5-7b', 'mismatch']);
    expect(traces.filter((tr) => tr.modelId === honest.id).every((tr) => tr.attribution === 'match')).toBe(true);
    const completed = events.filter((e) => e.type === 'item.completed' && e.payload.modelId === liar.id);
    expect(completed.every((e) => e.type === 'item.completed' && e.payload.attribution === 'mismatch')).toBe(true);

    const audit = await c.runs.audit.query({ runId: run.id });
    expect(audit.ok).toBe(false);
    const mismatches = audit.findings.filter((f) => f.kind === 'provider_reported_other_model');
    expect(mismatches.map((f) => f.traceId).sort()).toEqual(bad.map((tr) => tr.id).sort());
  });

  it('does not let a registry edit mid-run change what the run sends or records', async () => {
    const c = t.client;
    openai.reset();
    let release!: () => void;
    const gate = new Promise((r) => (release = () => r(undefined)));
    openai.setBehavior({ latencyMs: 5, gate: () => gate });
    const m = await fakeModel(c, openai.url, 'snapshot-model');
    const set = await promptSet(c, 10);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 2, delayMs: 0 });
    await waitFor(async () => openai.inFlight() === 2);
    const edited = await c.models.update.mutate({
      id: m.id,
      providerModel: 'edited-model',
      pricing: { inputPerMTok: 99, outputPerMTok: 99 },
    });
    expect(edited.revision).toBe(m.revision + 1);
    release();
    await collectEvents(c, run.id);
    const traces = await allTraces(c, run.id);
    expect(traces).toHaveLength(10);
    expect(new Set(traces.map((tr) => tr.requestedModel))).toEqual(new Set(['snapshot-model']));
    expect(new Set(traces.map((tr) => tr.modelRevision))).toEqual(new Set([m.revision]));
    expect(openai.countsByModel()).toEqual({ 'snapshot-model': 10 });
    const full = await c.runs.get.query({ id: run.id });
    expect(full.models[0]!.providerModel).toBe('snapshot-model');
  });

  it("retries a flaky provider's 429s after Retry-After, each attempt its own trace, and completes", async () => {
    const c = t.client;
    openai.reset();
    openai.setBehavior({ latencyMs: 2, fault: { kind: '429', retryAfterMs: 150 }, times: 3 });
    const m = await fakeModel(c, openai.url, 'flaky-model');
    const set = await promptSet(c, 6);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [m.id],
      concurrency: 1,
      delayMs: 0,
      maxRetries: 5,
    });
    const events = await collectEvents(c, run.id);
    const got = await c.runs.get.query({ id: run.id });
    expect([got.status, got.completedItems, got.failedItems, got.retries]).toEqual(['completed', 6, 0, 3]);
    const retrying = events.filter((e) => e.type === 'item.retrying');
    expect(retrying).toHaveLength(3);
    for (const e of retrying) if (e.type === 'item.retrying') expect(e.payload.waitMs).toBeGreaterThanOrEqual(150);
    const traces = await allTraces(c, run.id);
    expect(traces).toHaveLength(9);
    expect(traces.filter((tr) => tr.errorType === 'rate_limited')).toHaveLength(3);
    // Each retry reached the fake after the provider's Retry-After had passed: the engine waited
    // waitMs (≥ 150, above) from the 429's arrival, and the fake saw the retry after it had
    // answered the 429. Its own clock (read late when the shared event loop is busy) shows the
    // wait with room for that.
    const byPrompt = requestsByPrompt(openai);
    let retried = 0;
    for (const reqs of byPrompt.values())
      for (let i = 1; i < reqs.length; i++) {
        expect(reqs[i - 1]!.status).toBe(429);
        expect(reqs[i]!.startedAt - reqs[i - 1]!.endedAt!).toBeGreaterThanOrEqual(120);
        retried++;
      }
    expect(retried).toBe(3);
    const attempts = (await allItems(c, run.id)).map((i) => i.attempts);
    expect(attempts.reduce((a, b) => a + b, 0)).toBe(9);
  });

  it('retries a truncated stream (partial output kept on the failed trace), records every finish reason', async () => {
    const c = t.client;
    openai.reset();
    hf.reset();
    // On both wires: each prompt's first call to the "cut" model stops after half its answer,
    // cleanly; the "long" model's answers end with finish_reason length.
    const firstCut = (fake: FakeServer) => {
      const seen = new Set<string>();
      fake.setBehavior((req) => {
        if (req.model.startsWith('long')) return { latencyMs: 2, finishReason: 'length' };
        const key = `${req.model}|${req.messages[0]!.content}`;
        if (seen.has(key)) return { latencyMs: 2 };
        seen.add(key);
        return { latencyMs: 2, fault: { kind: 'truncate', after: 'half' } };
      });
    };
    firstCut(openai);
    firstCut(hf);
    const models = [
      await fakeModel(c, openai.url, 'cut-openai'),
      await fakeModel(c, hf.url, 'org/cut-hf', { provider: 'huggingface' }),
      await fakeModel(c, openai.url, 'long-openai'),
    ];
    const [cutOpenAI, cutHf, long] = models;
    const set = await promptSet(c, 3);
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: models.map((m) => m.id),
      concurrency: 4,
      delayMs: 0,
      maxRetries: 1,
    });
    const events = await collectEvents(c, run.id);
    const got = await c.runs.get.query({ id: run.id });
    expect([got.status, got.completedItems, got.failedItems, got.retries]).toEqual(['completed', 9, 0, 6]);
    const lengths = (xs: Array<string | null | undefined>) => expect(xs).toEqual(['length', 'length', 'length']);

    const traces = await allTraces(c, run.id);
    for (const m of [cutOpenAI!, cutHf!]) {
      const mine = traces.filter((tr) => tr.modelId === m.id);
      const failed = mine.filter((tr) => tr.status === 'error');
      const firstTries = failed.map((tr) => [tr.errorType, tr.attempt, tr.finishReason]);
      expect(firstTries).toEqual(Array(3).fill(['truncated', 1, null]));
      for (const tr of failed) {
        // What arrived is kept, next to the error: the first half of what the retry answered.
        const full = mine.find((o) => o.itemId === tr.itemId && o.status === 'ok')!;
        expect(tr.outputPreview!.length).toBeGreaterThan(5);
        expect(full.outputPreview!.startsWith(tr.outputPreview!)).toBe(true);
        expect(tr.outputPreview!.length).toBeLessThan(full.outputPreview!.length);
      }
      const ok = mine.filter((tr) => tr.status === 'ok');
      expect(ok.map((tr) => [tr.attempt, tr.finishReason])).toEqual(Array(3).fill([2, 'stop']));
    }
    const longTraces = traces.filter((tr) => tr.modelId === long!.id);
    expect(longTraces.map((tr) => [tr.status, tr.finishReason])).toEqual(Array(3).fill(['ok', 'length']));
    const retrying = events.filter((e) => e.type === 'item.retrying');
    expect(retrying.map((e) => e.type === 'item.retrying' && e.payload.errorType)).toEqual(Array(6).fill('truncated'));
    const completed = events.flatMap((e) => (e.type === 'item.completed' ? [e.payload] : []));
    lengths(completed.filter((p) => p.modelId === long!.id).map((p) => p.finishReason));
    expect(completed.filter((p) => p.modelId !== long!.id).every((p) => p.finishReason === 'stop')).toBe(true);

    // The finish reason is in runs.items, traces.get, the per-model numbers and both exports.
    const items = await allItems(c, run.id);
    lengths(items.filter((i) => i.modelId === long!.id).map((i) => i.trace!.finishReason));
    const one = await c.traces.get.query({ id: completed.find((p) => p.modelId === long!.id)!.traceId });
    expect(one.finishReason).toBe('length');
    const perModel = await c.runs.compare.query({ runIds: [run.id] });
    expect(models.map((m) => perModel.aggregates[`${run.id}:${m.id}`]!.lengthFinishes)).toEqual([0, 0, 3]);
    // No scorer ran: no score comparison (not one per column saying there is nothing to compare);
    // a later page never carries it (it covers the whole runs, and comes with the first page).
    expect(perModel.scores).toEqual([]);
    expect((await c.runs.compare.query({ runIds: [run.id], cursor: 1 })).scores).toBeNull();
    const download = (format: string) => fetch(`${t.server.url}/export/${run.id}.${format}`).then((r) => r.text());
    const csv = await download('csv');
    const [head, ...lines] = csv.trim().split('\n');
    const col = head!.split(',').indexOf('finish_reason');
    expect(col).toBeGreaterThan(0);
    expect(lines.map((l) => l.split(',')[col]).sort()).toEqual([...Array(3).fill('length'), ...Array(6).fill('stop')]);
    type Row = { model_id: string; finish_reason: string | null };
    const rows = (await download('jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row);
    lengths(rows.filter((r) => r.model_id === long!.id).map((r) => r.finish_reason));
  });

  it('lets a subscriber that drops mid-run resume from its lastEventId with every event exactly once, in order', async () => {
    const c = t.client;
    openai.reset();
    openai.setBehavior({ latencyMs: 10 });
    const m = await fakeModel(c, openai.url, 'resume-model');
    const set = await promptSet(c, 40);
    const run = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [m.id], concurrency: 2, delayMs: 0 });
    const { makeClient } = await import('./helpers.js');
    const first = makeClient(t.server.url);
    const before = await collectEvents(first.client, run.id, { stopAfter: 25 });
    first.close(); // the socket goes away mid-run
    await new Promise((r) => setTimeout(r, 100));
    const second = makeClient(t.server.url);
    const after = await collectEvents(second.client, run.id, { lastEventId: String(before.at(-1)!.seq) });
    second.close();
    const seqs = [...before, ...after].map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(after.at(-1)!.type).toBe('run.finished');
    expect([...before, ...after].filter((e) => e.type === 'item.completed')).toHaveLength(40);
  });

  it('rejects bad runs.create input with BAD_REQUEST naming the field, writing nothing', async () => {
    const c = t.client;
    const set = await promptSet(c, 2);
    const models = await c.models.list.query();
    const good = { promptSetId: set.id, modelIds: [models[0]!.id], concurrency: 2, delayMs: 0 };
    const archived = await c.models.create.mutate({
      name: `arch-${provider}`,
      provider: 'simulated',
      providerModel: 'x',
    });
    await c.models.archive.mutate({ id: archived.id });
    const empty = await c.promptSets.create.mutate({ name: 'one', prompts: [{ input: 'x' }] });
    const before = (await c.runs.list.query({ limit: 200 })).runs.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 257 }, 'concurrency'],
      [{ delayMs: -1 }, 'delayMs'],
      [{ delayMs: 600_001 }, 'delayMs'],
      [{ promptLimit: 0 }, 'promptLimit'],
      [{ repeats: 0 }, 'repeats'],
      [{ repeats: 101 }, 'repeats'],
      [{ modelIds: ['no-such-model'] }, 'modelIds'],
      [{ modelIds: [archived.id] }, 'modelIds'],
      [{ modelIds: [models[0]!.id, models[0]!.id] }, 'modelIds'],
      [{ modelIds: [] }, 'modelIds'],
      [{ promptSetId: 'no-such-set' }, 'promptSetId'],
    ];
    for (const [patch, field] of cases) {
      const err = await c.runs.create.mutate({ ...good, ...patch } as typeof good).then(
        () => null,
        (e: { data?: { code?: string; fieldErrors?: Record<string, string[]> }; message: string }) => e,
      );
      expect(err, JSON.stringify(patch)).not.toBeNull();
      expect(err!.data?.code).toBe('BAD_REQUEST');
      expect(Object.keys(err!.data?.fieldErrors ?? {}), JSON.stringify(patch)).toContain(field);
    }
    void empty;
    expect((await c.runs.list.query({ limit: 200 })).runs.length).toBe(before);
  });
});
