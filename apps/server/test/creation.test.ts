// Prompt sets and runs large enough to take several insert statements: created whole, in order,
// or not at all when a statement past the first one fails (a trigger makes it fail, in the real
// database, mid-transaction).

import { BULK_ROWS } from '@batchlight/db';
import { PROVIDERS_UNDER_TEST } from '@batchlight/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allItems, promptSet, startTestServer, type TestServer } from './helpers.js';

const FAIL_AT = BULK_ROWS + 5; // in the second statement

describe.each(PROVIDERS_UNDER_TEST)('creating large sets and runs on %s', (provider) => {
  let t: TestServer;
  let setId: string;
  beforeAll(async () => {
    t = await startTestServer(provider);
    setId = (await promptSet(t.client, BULK_ROWS + 100)).id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const sql = (s: string) => t.server.engine.db.prisma.$executeRawUnsafe(s);
  const count = async (table: string) =>
    Number(
      (
        await t.server.engine.db.prisma.$queryRawUnsafe<Array<{ n: number | bigint }>>(
          `SELECT COUNT(*) AS n FROM "${table}"`,
        )
      )[0]!.n,
    );
  /** Makes inserts into `table` whose `column` equals FAIL_AT raise, for the duration of `fn`. */
  async function failingInsert(table: string, column: string, fn: () => Promise<void>) {
    if (provider === 'sqlite') {
      await sql(
        `CREATE TRIGGER boom BEFORE INSERT ON "${table}" WHEN NEW."${column}" = ${FAIL_AT} BEGIN SELECT RAISE(ABORT, 'boom'); END`,
      );
    } else {
      await sql(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$`);
      await sql(
        `CREATE TRIGGER boom BEFORE INSERT ON "${table}" FOR EACH ROW WHEN (NEW."${column}" = ${FAIL_AT}) EXECUTE FUNCTION boom()`,
      );
    }
    try {
      await fn();
    } finally {
      await sql(provider === 'sqlite' ? 'DROP TRIGGER boom' : `DROP TRIGGER boom ON "${table}"`);
      if (provider === 'postgresql') await sql('DROP FUNCTION boom()');
    }
  }

  it('creates every run item, in run order (prompt, repeat, model), over several statements', async () => {
    const models = (await t.client.models.list.query()).filter((m) => m.provider === 'simulated').slice(0, 2);
    expect(models).toHaveLength(2);
    const promptLimit = Math.ceil(BULK_ROWS / 4) + 3;
    const run = await t.client.runs.create.mutate({
      promptSetId: setId,
      modelIds: models.map((m) => m.id),
      concurrency: 1,
      delayMs: 60_000,
      promptLimit,
      repeats: 2,
    });
    await t.client.runs.cancel.mutate({ id: run.id });
    expect(run.totalItems).toBe(promptLimit * 2 * 2);
    const items = await allItems(t.client, run.id); // in id order: the order they run
    const expected = [];
    for (let p = 0; p < promptLimit; p++)
      for (let r = 0; r < 2; r++) for (const m of models) expected.push([p, r, m.id]);
    expect(items.map((i) => [i.promptIndex, i.repeatIndex, i.modelId])).toEqual(expected);
  });

  it('writes nothing of a prompt set when a later statement fails', async () => {
    const [sets, prompts] = [await count('PromptSet'), await count('Prompt')];
    await failingInsert('Prompt', 'index', async () => {
      await expect(
        t.client.promptSets.create.mutate({
          name: 'never',
          prompts: Array.from({ length: BULK_ROWS + 50 }, (_, i) => ({ input: `p${i}` })),
        }),
      ).rejects.toThrow();
    });
    expect([await count('PromptSet'), await count('Prompt')]).toEqual([sets, prompts]);
  });

  it('writes nothing of a run when a later statement fails', async () => {
    const model = (await t.client.models.list.query()).find((m) => m.provider === 'simulated')!;
    const tables = ['Run', 'RunModel', 'Conversation', 'RunItem'];
    const before = await Promise.all(tables.map(count));
    await failingInsert('RunItem', 'promptIndex', async () => {
      await expect(
        t.client.runs.create.mutate({ promptSetId: setId, modelIds: [model.id], concurrency: 1, delayMs: 0 }),
      ).rejects.toThrow();
    });
    expect(await Promise.all(tables.map(count))).toEqual(before);
  });
});
