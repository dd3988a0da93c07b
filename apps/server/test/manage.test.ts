// Managing what piles up, on both databases: a prompt set's prompts paged and the set deleted
// (refused while a run uses it, naming the run), runs paged past 100 and searched by run and model
// names in any case, a finished run deleted with everything it holds (a running one refused,
// naming its status), models' params and cached price kept through updates, price errors naming
// the field, and the import preview numbering prompts by their file line.

import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents, failure, promptSet, startTestServer, type TestServer, waitFor } from './helpers.js';

describe.each(PROVIDERS_UNDER_TEST)('managing sets, runs and models on %s', (provider) => {
  let t: TestServer;
  let fast: string;
  beforeAll(async () => {
    t = await startTestServer(provider);
    fast = (await t.client.models.list.query()).find((m) => m.name === 'Simulated Fast')!.id;
    await t.client.models.update.mutate({ id: fast, params: { simulation: { latencyMs: 1 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const finishedRun = async (promptSetId: string, name: string | null, extra: { scorers?: never } = {}) => {
    const run = await t.client.runs.create.mutate({
      promptSetId,
      modelIds: [fast],
      concurrency: 2,
      delayMs: 0,
      name,
      ...extra,
    });
    await collectEvents(t.client, run.id);
    return run;
  };

  it('pages a set’s prompts, and deletes the set only once no run uses it, naming the run that does', async () => {
    const c = t.client;
    const set = await promptSet(c, 120, 'paged');
    const first = await c.promptSets.get.query({ id: set.id, cursor: 0, limit: 50 });
    expect(first.prompts.map((p) => p.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(first.nextCursor).toBe(50);
    const last = await c.promptSets.get.query({ id: set.id, cursor: 100, limit: 50 });
    expect([last.prompts.length, last.prompts[0]!.text, last.nextCursor]).toEqual([
      20,
      'Prompt number 100: say something short.',
      null,
    ]);

    const named = await finishedRun(set.id, 'uses the set');
    const refused = await failure(c.promptSets.delete.mutate({ id: set.id }));
    expect([refused.code, refused.httpStatus, Object.keys(refused.fieldErrors)]).toEqual(['CONFLICT', 409, ['id']]);
    expect(refused.message).toMatch(/^id: run "uses the set" \(completed\) uses this prompt set/);
    expect((await c.promptSets.get.query({ id: set.id })).promptCount).toBe(120);

    const other = await promptSet(c, 2, 'used by an unnamed run');
    const unnamed = await finishedRun(other.id, null);
    expect((await failure(c.promptSets.delete.mutate({ id: other.id }))).message).toContain(unnamed.id.slice(-8));

    await c.runs.delete.mutate({ id: named.id });
    expect(await c.promptSets.delete.mutate({ id: set.id })).toEqual({ id: set.id, name: 'paged', promptCount: 120 });
    expect((await failure(c.promptSets.get.query({ id: set.id }))).code).toBe('NOT_FOUND');
    expect(await t.server.engine.db.prisma.prompt.count({ where: { promptSetId: set.id } })).toBe(0);
    expect((await c.promptSets.get.query({ id: other.id })).promptCount).toBe(2);
  });

  it('lists runs a page at a time past 100, searched by run, set and model names in any case', async () => {
    const c = t.client;
    const set = await promptSet(c, 1, 'tiny set');
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) {
      const run = await c.runs.create.mutate({
        promptSetId: set.id,
        modelIds: [fast],
        concurrency: 1,
        name: `page-${i}`,
      });
      ids.push(run.id);
    }
    const page1 = await c.runs.list.query({ search: 'page-', limit: 100 });
    expect(page1.runs.length).toBe(100);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await c.runs.list.query({ search: 'page-', limit: 100, cursor: page1.nextCursor! });
    expect(page2.nextCursor).toBeNull();
    const seen = [...page1.runs, ...page2.runs].map((r) => r.id);
    expect(seen).toEqual([...ids].reverse()); // newest first, each once
    // The same pages without a search, past 100.
    const plain = await c.runs.list.query({ limit: 100 });
    const rest = await c.runs.list.query({ limit: 100, cursor: plain.nextCursor! });
    expect(new Set([...plain.runs, ...rest.runs].map((r) => r.id))).toEqual(
      new Set((await t.server.engine.db.prisma.run.findMany({ select: { id: true } })).map((r) => r.id)),
    );

    const names = async (search: string) => (await c.runs.list.query({ search, limit: 200 })).runs.map((r) => r.name);
    expect((await names('PAGE-7')).sort()).toEqual(
      ['page-7', ...Array.from({ length: 10 }, (_, i) => `page-7${i}`)].sort(),
    );
    expect(await names('100%')).toEqual([]); // % is a character, not a wildcard
    const zeta = await c.models.create.mutate({
      name: 'Zeta Searchable',
      provider: 'simulated',
      providerModel: 'zeta-sim-1',
      params: { simulation: { latencyMs: 1 } },
    });
    const byModel = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [zeta.id], concurrency: 1 });
    expect((await c.runs.list.query({ search: 'zeta searchable' })).runs.map((r) => r.id)).toEqual([byModel.id]);
    expect((await c.runs.list.query({ search: 'ZETA-SIM' })).runs.map((r) => r.id)).toEqual([byModel.id]);
    expect((await c.runs.list.query({ search: 'TINY SET', limit: 200 })).runs.length).toBe(102);
    await waitFor(async () => (await c.runs.list.query({ limit: 200 })).runs.every((r) => r.status === 'completed'));
  });

  it('deletes a finished run with all it holds, in one go; a running run is refused, naming its status', async () => {
    const c = t.client;
    const prisma = t.server.engine.db.prisma;
    const set = await promptSet(c, 4, 'to delete');
    const gone = await finishedRun(set.id, 'deleted', { scorers: [{ type: 'is-json' }] as never });
    const kept = await finishedRun(set.id, 'kept', { scorers: [{ type: 'is-json' }] as never });
    const held = async (runId: string) => [
      await prisma.runModel.count({ where: { runId } }),
      await prisma.runItem.count({ where: { runId } }),
      await prisma.trace.count({ where: { runId } }),
      await prisma.conversation.count({ where: { runId } }),
      await prisma.message.count({ where: { runId } }),
      await prisma.runEvent.count({ where: { runId } }),
      await prisma.runStats.count({ where: { runId } }),
      await prisma.score.count({ where: { runId } }),
    ];
    const before = await held(gone.id);
    expect(
      before.every((n) => n > 0),
      `rows held: ${before}`,
    ).toBe(true);
    const keptBefore = await held(kept.id);

    expect(await c.runs.delete.mutate({ id: gone.id })).toMatchObject({ id: gone.id, status: 'completed' });
    expect(await held(gone.id)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await prisma.message.count({ where: { conversation: { runId: gone.id } } })).toBe(0);
    expect((await failure(c.runs.get.query({ id: gone.id }))).code).toBe('NOT_FOUND');
    expect(await held(kept.id)).toEqual(keptBefore);
    expect((await failure(c.runs.delete.mutate({ id: gone.id }))).code).toBe('NOT_FOUND');

    const slow = await c.models.create.mutate({
      name: `Slow ${provider}`,
      provider: 'simulated',
      providerModel: 'slow-sim',
      params: { simulation: { latencyMs: 60_000 } },
    });
    const running = await c.runs.create.mutate({ promptSetId: set.id, modelIds: [slow.id], concurrency: 1 });
    const refused = await failure(c.runs.delete.mutate({ id: running.id }));
    expect([refused.code, refused.httpStatus, Object.keys(refused.fieldErrors)]).toEqual(['CONFLICT', 409, ['id']]);
    expect(refused.message).toMatch(/^id: the run is (queued|running): cancel it first/);
    expect(await prisma.runItem.count({ where: { runId: running.id } })).toBe(4);
    await c.runs.cancel.mutate({ id: running.id });
    await c.runs.delete.mutate({ id: running.id });
    expect(await prisma.run.count({ where: { id: running.id } })).toBe(0);
  });

  it('keeps params and the cached-token price through create and update; price errors name the field', async () => {
    const c = t.client;
    const m = await c.models.create.mutate({
      name: 'Params kept',
      provider: 'simulated',
      providerModel: 'sim-params',
      params: { temperature: 0.3, maxTokens: 64, stream: false, simulation: { latencyMs: 1 } },
      pricing: { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 },
    });
    expect([m.params, m.pricing]).toEqual([
      { temperature: 0.3, maxTokens: 64, stream: false, simulation: { latencyMs: 1 } },
      { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 },
    ]);
    const priced = await c.models.update.mutate({
      id: m.id,
      pricing: { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.25 },
    });
    expect([priced.params.temperature, priced.pricing.cachedInputPerMTok]).toEqual([0.3, 0.25]);
    const tuned = await c.models.update.mutate({
      id: m.id,
      params: { temperature: 1.1, maxTokens: 128, stream: true, simulation: { latencyMs: 1 } },
    });
    expect([tuned.params, tuned.pricing.cachedInputPerMTok]).toEqual([
      { temperature: 1.1, maxTokens: 128, stream: true, simulation: { latencyMs: 1 } },
      0.25,
    ]);

    for (const bad of [Number.NaN, -1]) {
      const e = await failure(c.models.update.mutate({ id: m.id, pricing: { inputPerMTok: bad } }));
      expect([e.code, e.fieldErrors]).toEqual(['BAD_REQUEST', { 'pricing.inputPerMTok': ['must be a number ≥ 0'] }]);
      expect(e.message).toBe('pricing.inputPerMTok: must be a number ≥ 0');
    }
    const cached = await failure(
      c.models.create.mutate({
        name: 'x',
        provider: 'simulated',
        providerModel: 'x',
        pricing: { cachedInputPerMTok: -2 },
      }),
    );
    expect(cached.fieldErrors).toEqual({ 'pricing.cachedInputPerMTok': ['must be a number ≥ 0'] });
    const temp = await failure(c.models.update.mutate({ id: m.id, params: { temperature: 3 } }));
    expect(temp.message).toBe('params.temperature: must be a number between 0 and 2');
    expect((await c.models.get.query({ id: m.id })).pricing.cachedInputPerMTok).toBe(0.25);
  });

  it('previews an import numbering each prompt by its file line, as errors are numbered', async () => {
    const csv = await t.client.promptSets.preview.mutate({
      format: 'csv',
      content: 'input,expected\n"two\nlines",a\nsecond,b\n',
    });
    expect(csv.prompts.map((p) => [p.line, p.input])).toEqual([
      [2, 'two\nlines'],
      [4, 'second'],
    ]);
    const jsonl = await t.client.promptSets.preview.mutate({
      format: 'jsonl',
      content: '{"input": "one"}\n\n{"input": "three"}\n{"input": \n',
    });
    expect(jsonl.prompts.map((p) => p.line)).toEqual([1, 3]);
    expect(jsonl.errors.map((e) => e.line)).toEqual([4]);
  });
});
