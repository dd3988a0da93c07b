// Times runs.matrix's queries (runMatrix) on a 100,000-item run: 50,000 prompts × 2 models, the
// rows written straight into a fresh database (no calls), then each kind of page asked 5 times.
// `pnpm --filter @batchlight/bench matrixprobe [sqlite|postgresql]` after `pnpm build`; prints median ms.
import { createDb, migrate } from '@batchlight/db';
import { tempDatabase } from '@batchlight/db/testing';
import { runMatrix, uuidv7 } from '@batchlight/engine';

const provider = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgresql';
const PROMPTS = 50_000;
const t = await tempDatabase(provider);
await migrate(t.url);
const db = await createDb(t.url);
const { prisma } = db;
try {
  const models = await Promise.all(
    ['a', 'b'].map((n) =>
      prisma.model.create({ data: { name: n, provider: 'simulated', providerModel: `${n}-1`, params: {} } }),
    ),
  );
  const set = await prisma.promptSet.create({ data: { name: 'big', promptCount: PROMPTS } });
  for (let i = 0; i < PROMPTS; i += 5000)
    await prisma.prompt.createMany({
      data: Array.from({ length: 5000 }, (_, k) => ({
        promptSetId: set.id,
        index: i + k,
        input: `Prompt number ${i + k} about topic ${(i + k) % 97}`,
      })),
    });
  const run = await prisma.run.create({
    data: {
      promptSetId: set.id,
      concurrency: 1,
      totalItems: PROMPTS * 2,
      status: 'completed',
      models: {
        create: models.map((m, position) => ({
          modelId: m.id,
          position,
          name: m.name,
          provider: m.provider,
          providerModel: m.providerModel,
          params: {},
          modelRevision: 1,
        })),
      },
    },
  });
  for (const m of models)
    for (let i = 0; i < PROMPTS; i += 2500) {
      const rows = Array.from({ length: 2500 }, (_, k) => {
        const index = i + k;
        return { index, itemId: uuidv7(), traceId: uuidv7() };
      });
      await prisma.trace.createMany({
        data: rows.map((r) => ({
          id: r.traceId,
          runId: run.id,
          modelId: m.id,
          modelRevision: 1,
          provider: 'simulated',
          requestedModel: m.providerModel,
          responseModel: m.providerModel,
          attribution: 'match',
          status: r.index % 50 === 0 ? 'error' : 'ok',
          startedAt: new Date(),
          latencyMs: (r.index * 7919) % 3000,
          inputTokens: 10,
          outputTokens: (r.index * 31) % 400,
          costUsd: ((r.index * 13) % 1000) / 1e6,
          input: [],
          output: `Answer ${r.index} from ${m.name}: ${'lorem ipsum '.repeat(20)}`,
        })),
      });
      await prisma.runItem.createMany({
        data: rows.map((r) => ({
          id: r.itemId,
          runId: run.id,
          modelId: m.id,
          promptIndex: r.index,
          status: r.index % 50 === 0 ? 'failed' : 'completed',
          attempts: 1,
          finalTraceId: r.traceId,
        })),
      });
    }
  const col = `${models[1]!.id}:0`;
  const cases: Array<[string, Parameters<typeof runMatrix>[2]]> = [
    ['first page (index order)', { limit: 100 }],
    ['last page', { offset: PROMPTS - 100, limit: 100 }],
    ['search a prompt', { search: 'Prompt number 43210 ' }],
    ['search outputs (no match)', { search: 'zzz-not-there' }],
    ['status failed', { status: 'failed', limit: 100 }],
    ['sort by b latency desc', { sort: { field: 'latency', column: col }, dir: 'desc', limit: 100 }],
    [
      'sort by b latency desc, page 400',
      { sort: { field: 'latency', column: col }, dir: 'desc', offset: 40_000, limit: 100 },
    ],
    ['sort by prompt text', { sort: { field: 'prompt' }, limit: 100 }],
  ];
  console.log(`${provider}: ${PROMPTS * 2} items`);
  for (const [name, q] of cases) {
    const times: number[] = [];
    let matching = 0;
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      const page = await runMatrix(prisma, run.id, q);
      times.push(performance.now() - t0);
      matching = page.matching;
    }
    times.sort((x, y) => x - y);
    console.log(`${name.padEnd(36)} ${times[2]!.toFixed(0).padStart(6)} ms  (${matching} rows match)`);
  }
} finally {
  await db.close();
  await t.drop();
}
