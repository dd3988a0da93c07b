// A large run's audit lets the process do other work while it pages through the run. SQLite answers
// synchronously, so a loop of awaited queries never reached the event loop: at 100,000 items every
// other request (health included) waited 11 s for the audit to end.
import { createDb, type Db, migrate } from '@batchlight/db';
import { type TempDatabase, tempSqlite } from '@batchlight/db/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditRun, createEngine, type Engine } from '../src/index.js';

const KEY_ENV = 'LLM_KEY_TEST_AUDIT_YIELD';
const N = 3_000;
let t: TempDatabase;
let db: Db;
let engine: Engine;
let fake: FakeServer;

beforeAll(async () => {
  process.env[KEY_ENV] = 'sk-audit-yield-test';
  fake = await startFakeOpenAI({ behavior: { latencyMs: 0 } });
  t = tempSqlite();
  await migrate(t.url);
  db = await createDb(t.url);
  engine = createEngine({ db, log: () => undefined });
});

afterAll(async () => {
  await engine?.close();
  await db?.close();
  await t?.drop();
  await fake?.close();
});

it(`lets timers run between the pages of a ${N.toLocaleString('en')}-item run's audit (SQLite)`, async () => {
  const p = db.prisma;
  // Two models of 1,500 calls each: the audit pages through each model's traces in turn.
  const models = [];
  for (const name of ['audited-1', 'audited-2'])
    models.push(
      await p.model.create({
        data: {
          name,
          provider: 'openai',
          providerModel: name,
          baseUrl: `${fake.url}/v1`,
          credentialEnv: KEY_ENV,
          params: { stream: false },
        },
      }),
    );
  const set = await p.promptSet.create({
    data: {
      name: 'many',
      promptCount: N / 2,
      prompts: { create: Array.from({ length: N / 2 }, (_, index) => ({ index, input: `prompt ${index}` })) },
    },
  });
  const run = await engine.createRun({
    promptSetId: set.id,
    modelIds: models.map((m) => m.id),
    concurrency: 32,
    delayMs: 0,
  });
  await engine.settled(run.id);

  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const report = await auditRun(p, run.id).finally(() => clearInterval(timer));
  expect([report.verdict, report.tracesChecked, report.tracesAnswered, report.messagesChecked]).toEqual([
    'ok',
    N,
    N,
    N,
  ]);
  expect(report.counts.match).toBe(N);
  // Three pages of traces and three of messages: the loop came round between most of them.
  expect(ticks).toBeGreaterThanOrEqual(3);
}, 120_000);
