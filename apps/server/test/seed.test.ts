// Several processes starting together on one empty PostgreSQL database each try the first-start
// seed: the database gets it once, and no process fails to start over it.

import { createDb, type Db, migrate } from '@batchlight/db';
import { type TempDatabase, tempDatabase } from '@batchlight/db/testing';
import { afterAll, expect, it } from 'vitest';
import { SIMULATED_MODELS } from '../src/index.js';
import { seedIfEmpty } from '../src/seed.js';

const dbs: Db[] = [];
let temp: TempDatabase | undefined;
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.close()));
  await temp?.drop();
});

it('seeds an empty database once when four processes start on it together', async () => {
  temp = await tempDatabase('postgresql');
  await migrate(temp.url);
  // One client each, as separate processes have: their transactions really overlap.
  for (let i = 0; i < 4; i++) dbs.push(await createDb(temp.url));
  const logs: string[][] = dbs.map(() => []);
  const keys = { openaiApiKey: true, hfToken: false };
  await Promise.all(dbs.map((d, i) => seedIfEmpty(d.prisma, keys, (m) => logs[i]!.push(m))));

  const prisma = dbs[0]!.prisma;
  const models = await prisma.model.findMany({ select: { name: true } });
  expect(models.map((m) => m.name).sort()).toEqual([...SIMULATED_MODELS.map((m) => m.name), 'GPT-5 Mini'].sort());
  const sets = await prisma.promptSet.findMany({ include: { _count: { select: { prompts: true } } } });
  expect(sets.map((s) => [s.name, s.promptCount, s._count.prompts])).toEqual([['Demo: explain it', 60, 60]]);
  expect(logs.filter((l) => l.some((m) => m.startsWith('seeded '))).length).toBe(1);
});
