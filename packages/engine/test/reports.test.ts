import { createDb, type Db, migrate } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareRuns,
  createEngine,
  csvField,
  type Engine,
  EngineInputError,
  exportRun,
  percentile,
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
  });
});
