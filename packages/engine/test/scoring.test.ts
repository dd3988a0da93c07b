// Scoring in a run against the fake provider acting as both the tested models and the judge: the
// scores stored per item, the judge's calls as traces of the judge (never of the judged model),
// re-scoring without calling the tested model, and the run's score report.
import { createDb, type Db, migrate } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareScores, createEngine, type Engine, EngineInputError, runMatrix, runScores } from '../src/index.js';

const KEY_ENV = 'LLM_KEY_TEST_SCORING';
const PROMPTS = [
  { input: 'capital of France?', expected: 'Paris' },
  { input: 'capital of Italy?', expected: 'Rome' },
  { input: 'capital of Spain?', expected: 'Madrid', asserts: [{ type: 'icontains', value: 'madrid' }] },
  { input: 'MALFORMED please', expected: 'x' },
  { input: 'FAILCALL', expected: 'y' },
];
const TESTED: Record<string, string> = {
  France: 'Paris',
  Italy: 'Milan',
  Spain: 'madrid!',
  MALFORMED: 'MALFORMED answer',
};
const OTHER: Record<string, string> = {
  France: 'Paris',
  Italy: 'Rome',
  Spain: 'Madrid',
  MALFORMED: 'MALFORMED answer',
};
const RUBRIC = 'Q: {{input}}\nA: {{output}}\nRef: {{expected}}';

function answer(table: Record<string, string>, text: string): string | null {
  for (const [k, v] of Object.entries(table)) if (text.includes(k)) return v;
  return null;
}

describe.each(PROVIDERS_UNDER_TEST)('scoring on %s', (provider) => {
  let t: TempDatabase;
  let db: Db;
  let engine: Engine;
  let fake: FakeServer;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    process.env[KEY_ENV] = 'sk-scoring-test';
    fake = await startFakeOpenAI({
      behavior: (req) => {
        const last = req.messages[req.messages.length - 1]?.content ?? '';
        if (req.model === 'judge-1') {
          const m = /A: (.*)\nRef: (.*)/.exec(last);
          if (!m || m[1]!.includes('MALFORMED')) return { content: 'I would rather not grade this.' };
          const ok = m[1]!.trim() === m[2]!.trim();
          return { content: JSON.stringify({ pass: ok, score: ok ? 0.9 : 0.1, reason: ok ? 'right' : 'wrong' }) };
        }
        if (last.includes('FAILCALL')) return req.model === 'tested-1' ? { fault: '400' } : { content: 'ok' };
        return { content: answer(req.model === 'tested-1' ? TESTED : OTHER, last) ?? '?' };
      },
    });
    t = await tempDatabase(provider);
    await migrate(t.url);
    db = await createDb(t.url);
    engine = createEngine({ db, log: () => undefined });
    for (const name of ['tested', 'other', 'judge'])
      ids[name] = (
        await db.prisma.model.create({
          data: {
            name,
            provider: 'openai',
            providerModel: `${name}-1`,
            baseUrl: `${fake.url}/v1`,
            credentialEnv: KEY_ENV,
            params: { stream: false },
            inputPricePerMTok: 1,
            outputPricePerMTok: name === 'judge' ? 100 : 1,
          },
        })
      ).id;
    ids.set = (
      await db.prisma.promptSet.create({
        data: {
          name: 'capitals',
          promptCount: PROMPTS.length,
          prompts: {
            create: PROMPTS.map((p, index) => ({
              index,
              input: p.input,
              expected: p.expected,
              ...(p.asserts ? { asserts: p.asserts } : {}),
            })),
          },
        },
      })
    ).id;
  });

  afterAll(async () => {
    await engine?.close();
    await db?.close();
    await t?.drop();
    await fake?.close();
  });

  it('refuses a judge that is not a registered model, naming the field', async () => {
    const err = await engine
      .createRun({
        promptSetId: ids.set!,
        modelIds: [ids.tested!],
        concurrency: 2,
        delayMs: 0,
        scorers: [{ type: 'equals' }, { type: 'judge', judge: 'nobody', rubric: RUBRIC }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(EngineInputError);
    expect(err.message).toMatch(/judge model "nobody" is not registered/);
    expect(err.field).toBe('scorers[1].judge');
    const bad = await engine
      .createRun({
        promptSetId: ids.set!,
        modelIds: [ids.tested!],
        concurrency: 2,
        delayMs: 0,
        scorers: [{ type: 'regex', value: '(a)\\1' }],
      })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(EngineInputError);
    expect(bad.field).toBe('scorers[0].value');
    expect(await db.prisma.run.count()).toBe(0);
  });

  it('scores each answered item, judges as their own traces under the judge model, errors apart', async () => {
    fake.reset();
    const run = await engine.createRun({
      promptSetId: ids.set!,
      modelIds: [ids.tested!, ids.other!],
      concurrency: 3,
      delayMs: 0,
      maxRetries: 0,
      scorers: [{ type: 'equals' }, { type: 'judge', judge: 'judge', rubric: RUBRIC }, { type: 'length', max: 100 }],
    });
    await engine.settled(run.id);
    ids.run = run.id;
    const p = db.prisma;

    const items = await p.runItem.findMany({
      where: { runId: run.id, modelId: ids.tested },
      orderBy: { promptIndex: 'asc' },
    });
    expect(items.map((i) => i.status)).toEqual(['completed', 'completed', 'completed', 'completed', 'failed']);
    const scores = await p.score.findMany({ where: { item: { modelId: ids.tested } } });
    const of = (promptIndex: number, scorer: string) =>
      scores.find((s) => s.itemId === items[promptIndex]!.id && s.scorer === scorer);
    expect(scores).toHaveLength(4 * 3 + 1); // three scorers on four answers, the prompt's own assert on one
    expect(of(0, 'equals:expected')).toMatchObject({ status: 'pass', score: 1 });
    expect(of(1, 'equals:expected')).toMatchObject({ status: 'fail', score: 0 });
    expect(of(2, 'icontains:madrid')).toMatchObject({ status: 'pass' });
    expect(of(0, 'judge:judge')).toMatchObject({ status: 'pass', score: 0.9, reason: 'right' });
    expect(of(1, 'judge:judge')).toMatchObject({ status: 'fail', score: 0.1, reason: 'wrong' });
    // A refusal is an error score, never a pass.
    expect(of(3, 'judge:judge')).toMatchObject({ status: 'error', score: null });
    expect(of(3, 'judge:judge')!.reason).toMatch(/did not answer a JSON verdict/);
    // A failed call leaves no score: it is an error, not a failure.
    expect(scores.some((s) => s.itemId === items[4]!.id)).toBe(false);

    // Attribution: every judge trace is the judge's, outside the run, linked to the trace it judged.
    const judgeTraces = await p.trace.findMany({ where: { judgedTraceId: { not: null } } });
    expect(judgeTraces).toHaveLength(9); // four answers of one tested model, five of the other
    for (const jt of judgeTraces) {
      expect(jt).toMatchObject({ modelId: ids.judge, runId: null, itemId: null, requestedModel: 'judge-1' });
      const judged = await p.trace.findUniqueOrThrow({ where: { id: jt.judgedTraceId! } });
      expect(judged.runId).toBe(run.id);
      expect([ids.tested, ids.other]).toContain(judged.modelId);
      expect(judged.modelId).not.toBe(ids.judge);
    }
    expect(await p.trace.count({ where: { runId: run.id, modelId: ids.judge } })).toBe(0);
    expect(await p.message.count({ where: { modelId: ids.judge } })).toBe(0);
    expect(await p.message.count({ where: { traceId: { in: judgeTraces.map((j) => j.id) } } })).toBe(0);
    for (const s of await p.score.findMany({ where: { judgeTraceId: { not: null } }, include: { judgeTrace: true } }))
      expect(s.judgeTrace!.modelId).toBe(ids.judge);
    // At the fake: the judge model was asked 9 times; the tested models never got a rubric.
    expect(fake.countsByModel()).toMatchObject({ 'judge-1': 9, 'tested-1': 5, 'other-1': 5 });
    for (const r of fake.requests.filter((q) => q.model !== 'judge-1')) expect(r.body.preview).not.toMatch(/Ref:/);

    // Events: item.scored names the tested model as modelId, the judge only as judgeModelId.
    const events = await p.runEvent.findMany({ where: { runId: run.id, type: 'item.scored' } });
    expect(events.length).toBeGreaterThanOrEqual(9);
    for (const e of events) {
      const payload = e.payload as { modelId: string; scores: Array<{ judgeModelId: string | null; scorer: string }> };
      expect([ids.tested, ids.other]).toContain(payload.modelId);
      for (const s of payload.scores) expect(s.judgeModelId).toBe(s.scorer.startsWith('judge') ? ids.judge : null);
    }

    // The run's cost is the tested models' only; the judges' is reported apart.
    const finished = await p.run.findUniqueOrThrow({ where: { id: run.id } });
    const tested = await p.trace.aggregate({ where: { runId: run.id }, _sum: { costUsd: true } });
    expect(finished.costUsd).toBeCloseTo(tested._sum.costUsd!, 12);
    const report = await runScores(p, run.id);
    const judgeCost = await p.trace.aggregate({ where: { modelId: ids.judge }, _sum: { costUsd: true } });
    expect(report.judges).toEqual([
      expect.objectContaining({ modelId: ids.judge, modelName: 'judge', calls: 9, costUsd: judgeCost._sum.costUsd }),
    ]);
    const t0 = report.models.find((m) => m.modelId === ids.tested)!;
    // Prompt 0 passes everything; 1 and 2 fail equals; 3 has a judge error; 4's call failed.
    expect([t0.passes, t0.fails, t0.errors]).toEqual([1, 2, 2]);
    expect(t0.passRate!.value).toBeCloseTo(1 / 3, 10);
    expect(t0.scorers.find((s) => s.scorer === 'judge:judge')).toMatchObject({ passes: 1, fails: 2, errors: 2 });

    const [cmp] = await compareScores(p, [run.id]);
    expect(cmp).toMatchObject({
      baseline: `${run.id}:${ids.tested}`,
      candidate: `${run.id}:${ids.other}`,
      regressed: [],
    });
    expect(cmp!.summary).toMatch(/^no significant difference between other and tested/);

    // The matrix's cells carry the same scores: pass, fail and the judge's error with its reason;
    // a failed call's cell has none.
    const matrix = await runMatrix(p, run.id, { limit: 10 });
    const cell = (promptIndex: number) => matrix.rows[promptIndex]!.cells[`${ids.tested}:0`]!;
    expect(cell(0).scores.map((s) => [s.scorer, s.status])).toEqual([
      ['equals:expected', 'pass'],
      ['judge:judge', 'pass'],
      ['length:..100', 'pass'],
    ]);
    expect(cell(1).scores.find((s) => s.scorer === 'equals:expected')).toMatchObject({ status: 'fail', score: 0 });
    expect(cell(3).scores.find((s) => s.scorer === 'judge:judge')!.reason).toMatch(/did not answer a JSON verdict/);
    expect(cell(4).status).toBe('failed');
    expect(cell(4).scores).toEqual([]);
    // Only this page's items: a page of one row carries that row's scores alone.
    const one = await runMatrix(p, run.id, { offset: 2, limit: 1 });
    expect(one.rows[0]!.cells[`${ids.tested}:0`]!.scores.map((s) => s.scorer)).toContain('icontains:madrid');
  });

  it('re-scores a finished run from its stored answers: only the judge is called', async () => {
    const runId = ids.run!;
    const before = fake.countsByModel();
    const r = await engine.scoreRun(runId, [
      { type: 'icontains', value: 'PARIS', name: 'says paris' },
      // Same name as the run's: its results are replaced.
      { type: 'equals', value: 'Milan', name: 'equals:expected' },
      { type: 'judge', judge: ids.judge!, rubric: RUBRIC, name: 'judge again' },
    ]);
    const after = fake.countsByModel();
    expect(after['tested-1']).toBe(before['tested-1']);
    expect(after['other-1']).toBe(before['other-1']);
    expect(after['judge-1']).toBe((before['judge-1'] ?? 0) + 9);
    expect(r).toEqual({ items: 9, scores: 27, judgeCalls: 9 });
    const p = db.prisma;
    const milan = await p.score.findMany({
      where: { runId, scorer: 'equals:expected', status: 'pass' },
      include: { item: true },
    });
    expect(milan.map((s) => [s.item.modelId, s.item.promptIndex])).toEqual([[ids.tested, 1]]);
    expect(await p.score.count({ where: { runId, scorer: 'says paris', status: 'pass' } })).toBe(2);
    const run = await p.run.findUniqueOrThrow({ where: { id: runId } });
    expect((run.scorers as Array<{ name?: string }>).map((s) => s.name)).toEqual([
      'judge:judge',
      undefined,
      'says paris',
      'equals:expected',
      'judge again',
    ]);
  });

  it('reports a run no scorer ran on: its failed calls as errors, nothing scored, no judge', async () => {
    const p = db.prisma;
    // The set's one assert would score every run on it: a set of its prompts without one.
    const set = await p.promptSet.create({
      data: {
        name: 'unscored',
        promptCount: 2,
        prompts: {
          create: [
            { index: 0, input: 'capital of France?' },
            { index: 1, input: 'FAILCALL' },
          ],
        },
      },
    });
    const run = await engine.createRun({
      promptSetId: set.id,
      modelIds: [ids.tested!, ids.other!],
      concurrency: 2,
      delayMs: 0,
      maxRetries: 0,
    });
    await engine.settled(run.id);
    const report = await runScores(p, run.id);
    expect(report.scored).toBe(false);
    expect(report.judges).toEqual([]);
    const errors = report.models.map((m) => [m.modelName, m.passes, m.fails, m.errors]);
    expect(errors).toEqual([
      ['tested', 0, 0, 1],
      ['other', 0, 0, 0],
    ]);
    expect(await compareScores(p, [run.id])).toEqual([]);
  });
});
