// bulkInsert against real databases: rows read back exactly as the ORM writes them, statements
// stay bounded however many rows come, rows are pulled lazily, and a failure leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_CHARS, BULK_ROWS, bulkInsert, createDb, type Db, migrate, type PromptRow } from '../src/index.js';
import { PROVIDERS_UNDER_TEST, type TempDatabase, tempDatabase } from '../src/testing.js';

// Values that a JSON round trip could bend: quotes, backslashes, newlines, non-ASCII, astral
// characters, a string that looks like a number or like JSON, chat messages, nested metadata.
const TRICKY: Array<Pick<PromptRow, 'input' | 'expected' | 'metadata'>> = [
  { input: 'plain', expected: null, metadata: null },
  {
    input: 'quotes " and \' and \\ backslash\nnew line\ttab',
    expected: 'é ü ß — 日本語 😀',
    metadata: { a: [1, 2.5, null, true], b: { c: 'd"e' } },
  },
  { input: '5', expected: '5', metadata: { n: 5 } },
  { input: '{"looks":"like json"}', expected: '', metadata: {} },
  {
    input: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi 👋' },
    ],
    expected: 'x'.repeat(5000),
    metadata: { nested: { deeper: ['x'] } },
  },
];

describe.each(PROVIDERS_UNDER_TEST)('bulkInsert on %s', (provider) => {
  let t: TempDatabase;
  let db: Db;
  beforeAll(async () => {
    t = await tempDatabase(provider);
    await migrate(t.url);
    db = await createDb(t.url);
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  const newSet = (name: string) => db.prisma.promptSet.create({ data: { name } });
  /** What the database holds, as text, so the comparison is of stored values, not of decoding. */
  const stored = (setId: string) =>
    db.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(
      `SELECT "index", CAST("input" AS TEXT) AS input, "expected", CAST("metadata" AS TEXT) AS metadata FROM "Prompt" WHERE "promptSetId" = ${provider === 'sqlite' ? '?' : '$1'} ORDER BY "index"`,
      setId,
    );

  it('stores every value exactly as the ORM does', async () => {
    const viaOrm = await newSet('orm');
    const viaBulk = await newSet('bulk');
    for (const [index, p] of TRICKY.entries())
      await db.prisma.prompt.create({
        data: {
          promptSetId: viaOrm.id,
          index,
          input: p.input as never,
          expected: p.expected,
          metadata: (p.metadata ?? undefined) as never,
        },
      });
    const n = await bulkInsert(
      db.prisma,
      provider,
      'Prompt',
      TRICKY.map((p, index) => ({ id: crypto.randomUUID(), promptSetId: viaBulk.id, index, ...p })),
    );
    expect(n).toBe(TRICKY.length);
    expect(await stored(viaBulk.id)).toEqual(await stored(viaOrm.id));
    const read = await db.prisma.prompt.findMany({ where: { promptSetId: viaBulk.id }, orderBy: { index: 'asc' } });
    expect(read.map((r) => ({ input: r.input, expected: r.expected, metadata: r.metadata }))).toEqual(TRICKY);
  });

  it('pulls rows lazily, one statement at a time, each statement one bounded parameter', async () => {
    const set = await newSet('many');
    const total = 3 * BULK_ROWS + 17;
    let pulled = 0;
    function* rows(): Generator<PromptRow> {
      for (let index = 0; index < total; index++) {
        pulled++;
        // Every 100th prompt is long, so some statements end on size, not on row count.
        yield {
          id: crypto.randomUUID(),
          promptSetId: set.id,
          index,
          input: `prompt ${index} ${index % 100 ? '' : 'y'.repeat(20_000)}`,
          expected: null,
          metadata: null,
        };
      }
    }
    const calls: Array<{ params: number; chars: number; pulled: number }> = [];
    const spy = {
      $executeRawUnsafe: (sql: string, ...params: unknown[]) => {
        calls.push({ params: params.length, chars: String(params[0]).length, pulled });
        return db.prisma.$executeRawUnsafe(sql, ...params);
      },
    };
    expect(await bulkInsert(spy, provider, 'Prompt', rows())).toBe(total);
    expect(await db.prisma.prompt.count({ where: { promptSetId: set.id } })).toBe(total);
    expect(calls.length).toBeGreaterThan(total / BULK_ROWS);
    let inserted = 0;
    for (const c of calls) {
      expect(c.params).toBe(1);
      expect(c.chars).toBeLessThan(BULK_CHARS + 21_000); // the row that crossed the bound, at most
      const rowsInStatement = c.pulled - inserted;
      expect(rowsInStatement).toBeGreaterThan(0);
      expect(rowsInStatement).toBeLessThanOrEqual(BULK_ROWS);
      inserted = c.pulled; // nothing is read ahead of the statement that writes it
    }
    const indexes = (await stored(set.id)).map((r) => Number(r.index));
    expect(indexes).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('writes nothing when a later statement fails inside the transaction', async () => {
    const name = `atomic-${provider}`;
    const promptsBefore = await db.prisma.prompt.count();
    const failing = db.prisma.$transaction(async (tx) => {
      const set = await tx.promptSet.create({ data: { name } });
      function* rows(): Generator<PromptRow> {
        for (let index = 0; index < 3 * BULK_ROWS; index++)
          // The last row repeats an index: (promptSetId, index) is unique, so the last statement fails.
          yield {
            id: crypto.randomUUID(),
            promptSetId: set.id,
            index: index === 3 * BULK_ROWS - 1 ? 0 : index,
            input: 'x',
            expected: null,
            metadata: null,
          };
      }
      await bulkInsert(tx, provider, 'Prompt', rows());
    });
    await expect(failing).rejects.toThrow();
    expect(await db.prisma.promptSet.count({ where: { name } })).toBe(0);
    expect(await db.prisma.prompt.count()).toBe(promptsBefore);
  });
});
