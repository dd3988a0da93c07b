import { createDb, type Db, migrate } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareRuns,
  createEngine,
  csvField,
  type Engine,
  EngineInputError,
  executingElsewhere,
  exportRun,
  percentile,
  runMatrix,
  runOutcome,
  runTimes,
  throughput,
} from '../src/index.js';

describe('report helpers', () => {
  it('takes nearest-rank percentiles', () => {
    const v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 100), percentile([], 50)]).toEqual([
      50,
      100,
      100,
      null,
    ]);
    expect(percentile([7], 95)).toBe(7);
  });

  it('quotes CSV fields and keeps spreadsheets from running formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"\nnow')).toBe('"say ""hi""\nnow"');
    expect(csvField('=SUM(A1:A2)')).toBe("'=SUM(A1:A2)");
    expect(csvField('-1+2')).toBe("'-1+2");
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
  });

  it('writes floats without binary noise and without exponents', () => {
    expect(csvField(0.000047900000000000006)).toBe('0.0000479');
    expect(csvField(4.79e-7)).toBe('0.000000479');
    expect(csvField(0.1 + 0.2)).toBe('0.3');
    expect(csvField(123.456)).toBe('123.456');
    expect(csvField(42)).toBe('42');
  });
});

describe('run outcome and times', () => {
  const run = (status: string, completedItems: number, failedItems: number) => ({
    status,
    completedItems,
    failedItems,
  });
  it('tells completed, completed with failures and all failed apart', () => {
    expect(runOutcome(run('completed', 4, 0))).toBe('completed');
    expect(runOutcome(run('completed', 3, 1))).toBe('completed_with_failures');
    expect(runOutcome(run('completed', 0, 4))).toBe('all_failed');
    expect(runOutcome(run('running', 0, 4))).toBe('running');
    expect(runOutcome(run('cancelled', 0, 4))).toBe('cancelled');
  });
  it('counts active time over every stretch, and wall time from the first start', () => {
    const startedAt = new Date(0);
    expect(runTimes({ startedAt: null, finishedAt: null, activeMs: 0, stretchStartedAt: null }, 5)).toEqual({
      activeMs: null,
      wallMs: null,
    });
    // Ran 4 s, paused, resumed at 10 s and running since: 4 s + 2 s active, 12 s wall.
    expect(
      runTimes({ startedAt, finishedAt: null, activeMs: 4000, stretchStartedAt: new Date(10_000) }, 12_000),
    ).toEqual({ activeMs: 6000, wallMs: 12_000 });
    expect(runTimes({ startedAt, finishedAt: new Date(15_000), activeMs: 9000, stretchStartedAt: null })).toEqual({
      activeMs: 9000,
      wallMs: 15_000,
    });
    expect(throughput(30, 6000)).toBe(5);
    expect(throughput(30, 0)).toBeNull();
  });
  it('says a run executes elsewhere while its shards are on the queue or its holder’s lease holds', () => {
    const now = 10_000;
    const running = { status: 'running', executorId: 'queue:abc', leaseUntil: null };
    expect(executingElsewhere(running, now)).toBe(true);
    expect(executingElsewhere({ ...running, status: 'queued' }, now)).toBe(false);
    const leased = { status: 'running', executorId: 'host:1234:x', leaseUntil: new Date(now + 1) };
    expect(executingElsewhere(leased, now)).toBe(true);
    // Its holder died: once the lease has run out, its stretch no longer counts.
    expect(executingElsewhere({ ...leased, leaseUntil: new Date(now) }, now)).toBe(false);
    expect(executingElsewhere({ ...leased, executorId: null }, now)).toBe(false);
  });
});

describe.each(PROVIDERS_UNDER_TEST)('compare and export on %s', (provider) => {
  let t: TempDatabase;
  let db: Db;
  let engine: Engine;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await tempDatabase(provider);
    await migrate(t.url);
    db = await createDb(t.url);
    engine = createEngine({ db, log: () => undefined });
    for (const [name, latencyMs] of [
      ['fast', 5],
      ['slow', 25],
    ] as const)
      ids[name] = (
        await db.prisma.model.create({
          data: {
            name,
            provider: 'simulated',
            providerModel: `${name}-1`,
            params: { simulation: { latencyMs, seed: 1 } },
            inputPricePerMTok: 1,
            outputPricePerMTok: 1,
          },
        })
      ).id;
    const set = await db.prisma.promptSet.create({
      data: {
        name: 's',
        promptCount: 30,
        prompts: {
          create: Array.from({ length: 30 }, (_, index) => ({
            index,
            input: index === 0 ? '=cmd|, "quoted"' : `prompt ${index}`,
          })),
        },
      },
    });
    ids.set = set.id;
    ids.other = (
      await db.prisma.promptSet.create({
        data: { name: 'o', promptCount: 1, prompts: { create: [{ index: 0, input: 'x' }] } },
      })
    ).id;
  });
  afterAll(async () => {
    await engine?.close();
    await db?.close();
    await t?.drop();
  });

  async function runOf(modelIds: string[], promptSetId = ids.set!, promptLimit?: number) {
    const run = await engine.createRun({ promptSetId, modelIds, concurrency: 8, delayMs: 0, promptLimit });
    await engine.settled(run.id);
    return run.id;
  }

  it('lines runs up per prompt with exact aggregates, and refuses runs on different prompt sets', async () => {
    const a = await runOf([ids.fast!, ids.slow!]);
    const b = await runOf([ids.fast!], ids.set, 10);
    const report = await compareRuns(db.prisma, [a, b], { limit: 50 });
    expect(report.columns.map((c) => c.modelName)).toEqual(['fast', 'slow', 'fast']);
    expect(report.rows).toHaveLength(30);
    const traces = await db.prisma.trace.findMany({
      where: { runId: a, modelId: ids.slow! },
      select: { latencyMs: true },
    });
    const sorted = traces.map((x) => x.latencyMs!).sort((x, y) => x - y);
    const slow = report.aggregates[`${a}:${ids.slow}`]!;
    expect(slow).toMatchObject({
      items: 30,
      completed: 30,
      failed: 0,
      successRate: 1,
      latencyP50: percentile(sorted, 50),
      latencyP95: percentile(sorted, 95),
    });
    expect(report.aggregates[`${b}:${ids.fast}`]!.items).toBe(10);
    const row = report.rows[3]!;
    expect(row.cells[`${b}:${ids.fast}`]!.status).toBe('completed');
    expect(report.rows[20]!.cells[`${b}:${ids.fast}`]).toBeNull();
    const d = row.deltas[`${a}:${ids.slow}`]!;
    expect(d.latencyMs).toBeCloseTo(
      row.cells[`${a}:${ids.slow}`]!.latencyMs! - row.cells[`${a}:${ids.fast}`]!.latencyMs!,
    );

    const other = await runOf([ids.fast!], ids.other);
    await expect(compareRuns(db.prisma, [a, other])).rejects.toBeInstanceOf(EngineInputError);
  });

  it('pages one run as a matrix: rows of prompts, a column per model, searched, filtered and sorted in the database', async () => {
    const runId = await runOf([ids.fast!, ids.slow!]);
    const all = await runMatrix(db.prisma, runId, { limit: 500 });
    expect(all.columns.map((c) => c.modelName)).toEqual(['fast', 'slow']);
    expect([all.rowsTotal, all.matching, all.rows.length]).toEqual([30, 30, 30]);
    expect(all.rows.map((r) => r.promptIndex)).toEqual([...Array(30).keys()]);
    const slowKey = `${ids.slow}:0`;
    const row3 = all.rows[3]!;
    expect(row3.prompt).toBe('prompt 3');
    expect(row3.cells[slowKey]).toMatchObject({ status: 'completed', attempts: 1 });

    // Sorted by the slow column's latency, descending, paged 7 at a time: the database's order.
    const latencies = all.rows.map((r) => ({ i: r.promptIndex, l: r.cells[slowKey]!.latencyMs! }));
    const expected = [...latencies].sort((a, b) => b.l - a.l || a.i - b.i).map((x) => x.i);
    const pages: number[] = [];
    for (let offset = 0; offset < 30; offset += 7) {
      const page = await runMatrix(db.prisma, runId, {
        sort: { field: 'latency', column: slowKey },
        dir: 'desc',
        offset,
        limit: 7,
      });
      pages.push(...page.rows.map((r) => r.promptIndex));
    }
    expect(pages).toEqual(expected);

    // Search: prompt text (any case), and outputs; `%` is a character, not a wildcard.
    const byPrompt = await runMatrix(db.prisma, runId, { search: 'PROMPT 1' });
    expect(byPrompt.rows.map((r) => r.promptIndex)).toEqual([1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect((await runMatrix(db.prisma, runId, { search: '%' })).matching).toBe(0);
    const word = row3.cells[slowKey]!.output!.split(/\s+/).find((w) => w.length > 6)!;
    const byOutput = await runMatrix(db.prisma, runId, { search: word });
    expect(byOutput.rows.map((r) => r.promptIndex)).toContain(3);
    for (const r of byOutput.rows)
      expect(
        `${r.prompt} ${Object.values(r.cells)
          .map((c) => c?.output)
          .join(' ')}`.toLowerCase(),
      ).toContain(word.toLowerCase());

    // Status filter (of one model's cells): one failed item makes one matching row.
    const item = await db.prisma.runItem.findFirstOrThrow({ where: { runId, modelId: ids.fast!, promptIndex: 5 } });
    await db.prisma.runItem.update({ where: { id: item.id }, data: { status: 'failed' } });
    const failed = await runMatrix(db.prisma, runId, { status: 'failed' });
    expect([failed.matching, failed.rows.map((r) => r.promptIndex)]).toEqual([1, [5]]);
    expect((await runMatrix(db.prisma, runId, { status: 'failed', modelId: ids.slow! })).matching).toBe(0);
    await expect(runMatrix(db.prisma, runId, { sort: { field: 'cost', column: 'nope:0' } })).rejects.toThrow(
      /column nope:0/,
    );
  });

  it('exports every item once, in chunks, with the model of each row', async () => {
    const runId = await runOf([ids.fast!, ids.slow!]);
    const chunks: string[] = [];
    for await (const c of exportRun(db.prisma, runId, 'jsonl')) chunks.push(c);
    const rows = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.item_id)).size).toBe(60);
    for (const r of rows) expect(r.requested_model).toBe(`${r.model_name}-1`);
    expect(Object.keys(rows[0]).some((k) => /credential|key|secret/i.test(k))).toBe(false);
    let csv = '';
    for await (const c of exportRun(db.prisma, runId, 'csv')) csv += c;
    expect(csv).toContain(`"'=cmd|, ""quoted"""`);

    // A cost stored with float noise is exported at its precision, in both formats.
    const noisy = 0.000047900000000000006;
    expect(String(noisy)).toBe('0.000047900000000000006');
    const trace = rows.find((r) => r.status === 'completed')!.trace_id;
    await db.prisma.trace.update({ where: { id: trace }, data: { costUsd: noisy } });
    csv = '';
    for await (const c of exportRun(db.prisma, runId, 'csv')) csv += c;
    const header = csv.split('\n')[0]!.split(',');
    const line = csv.split('\n').find((l) => l.includes(trace))!;
    expect(line.split(',')[header.indexOf('cost_usd')]).toBe('0.0000479');
    let jsonl = '';
    for await (const c of exportRun(db.prisma, runId, 'jsonl')) jsonl += c;
    expect(jsonl).toContain('"cost_usd":0.0000479,');
    expect(`${csv}${jsonl}`).not.toContain('0.000047900000000000006');
  });
});
