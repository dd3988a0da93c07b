// First start: simulated models and a demo prompt set, so a fresh checkout runs a real batch with
// no key and no network. Real models are added when their keys are in the environment.
import type { Prisma, PrismaClient } from '@batchlight/db';

type ModelSeed = Omit<Prisma.ModelCreateInput, 'params'> & { params: Prisma.InputJsonValue };

export const SIMULATED_MODELS: ModelSeed[] = [
  {
    name: 'Simulated Fast',
    provider: 'simulated',
    providerModel: 'sim-fast-1',
    params: {
      simulation: {
        seed: 1,
        latencyMs: { p50: 250, p95: 700 },
        ttftFraction: 0.3,
        outputTokens: { min: 20, max: 120 },
      },
    },
    inputPricePerMTok: 0.1,
    outputPricePerMTok: 0.4,
  },
  {
    name: 'Simulated Flaky',
    provider: 'simulated',
    providerModel: 'sim-flaky-1',
    // No seed: its 429s and 500s fall on different prompts each run, as a real provider's do, so
    // the demo fails now and then (a 60-prompt run loses an item after four faulty attempts about one
    // time in seven), never always on the same prompt.
    params: {
      simulation: {
        latencyMs: { p50: 600, p95: 1800 },
        rateLimitRate: 0.2,
        retryAfterMs: 400,
        errorRate: 0.03,
        outputTokens: { min: 40, max: 300 },
      },
    },
    inputPricePerMTok: 1,
    outputPricePerMTok: 4,
  },
  {
    name: 'Simulated Large',
    provider: 'simulated',
    providerModel: 'sim-large-1',
    params: {
      simulation: {
        seed: 3,
        latencyMs: { p50: 1500, p95: 4000 },
        ttftFraction: 0.15,
        outputTokens: { min: 150, max: 600 },
      },
    },
    inputPricePerMTok: 2.5,
    outputPricePerMTok: 10,
  },
];

const SUBJECTS = [
  'photosynthesis',
  'the TCP handshake',
  'compound interest',
  'the French Revolution',
  'black holes',
  'vaccines',
  'binary search',
  'inflation',
  'plate tectonics',
  'the immune system',
  'public-key cryptography',
  'climate feedback loops',
];
const TASKS = [
  (s: string) => `Explain ${s} to a ten-year-old in three sentences.`,
  (s: string) => `Give two common misconceptions about ${s} and correct them.`,
  (s: string) => `Write a one-paragraph summary of ${s} for an expert audience.`,
  (s: string) => `List three questions a student might ask about ${s}, with short answers.`,
  (s: string) => `Describe ${s} using a single analogy, then say where the analogy breaks down.`,
];

/** 60 prompts: every task for every subject. */
export function demoPromptSet(): string[] {
  return SUBJECTS.flatMap((s) => TASKS.map((t) => t(s)));
}

/** Prisma's 5 s default would be short for the second of several processes, which waits on the first. */
const SEED_TRANSACTION = { maxWait: 30_000, timeout: 30_000 };

export async function seedIfEmpty(
  prisma: PrismaClient,
  opts: { openaiApiKey: boolean; hfToken: boolean },
  log: (m: string) => void,
): Promise<void> {
  const real: ModelSeed[] = [];
  if (opts.openaiApiKey)
    real.push({
      name: 'GPT-5 Mini',
      provider: 'openai',
      providerModel: 'gpt-5-mini',
      credentialEnv: 'OPENAI_API_KEY',
      credentialHint: '$OPENAI_API_KEY',
      params: {},
      inputPricePerMTok: 0.25,
      outputPricePerMTok: 2,
      cachedInputPricePerMTok: 0.025,
    });
  if (opts.hfToken)
    real.push({
      name: 'Qwen2.5 7B Instruct',
      provider: 'huggingface',
      providerModel: 'Qwen/Qwen2.5-7B-Instruct',
      credentialEnv: 'HF_TOKEN',
      credentialHint: '$HF_TOKEN',
      params: {},
    });
  // One transaction: processes starting together on one empty database (several processes, one
  // PostgreSQL) meet at Model's unique name; the one that comes second rolls back whole.
  let seeded: { models: number; firstStart: boolean };
  try {
    seeded = await prisma.$transaction(async (tx) => {
      const firstStart = (await tx.model.count()) === 0 && (await tx.promptSet.count()) === 0;
      const toCreate = firstStart ? [...SIMULATED_MODELS, ...real] : [];
      if (!firstStart) {
        // Keys added later still get their model, once.
        for (const m of real) if (!(await tx.model.findUnique({ where: { name: m.name } }))) toCreate.push(m);
      }
      for (const m of toCreate) await tx.model.create({ data: m });
      if (firstStart) {
        const prompts = demoPromptSet();
        await tx.promptSet.create({
          data: {
            name: 'Demo: explain it',
            promptCount: prompts.length,
            prompts: { create: prompts.map((input, index) => ({ index, input })) },
          },
        });
      }
      return { models: toCreate.length, firstStart };
    }, SEED_TRANSACTION);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'P2002') throw err;
    log('another process seeded this database at the same time: its models and demo set are kept');
    return;
  }
  const { models: created, firstStart } = seeded;
  if (created) log(`seeded ${created} model(s)${firstStart ? ' and the demo prompt set' : ''}`);
}
