// What executing a run (or one shard of it) needs, read from the database: its settings, one
// frozen ResolvedModel per model from the run's snapshots, its conversations, the attempts its
// items left before, and its scoring.
import type { PrismaClient } from '@batchlight/db';
import type { ResolvedModel } from '@batchlight/llm';
import type { ScorerSpec } from '@batchlight/scoring';
import { resolveSnapshot } from '../models/resolve.js';
import type { ItemRange, RunPlan } from './execution.js';
import { resolveJudges, storedScorers } from './scoring.js';

export interface PlanDeps {
  prisma: PrismaClient;
  secretKey?: string;
  /** The model, when the call policy lets it be called; else throws. */
  callable: (model: ResolvedModel) => ResolvedModel;
}

/** The plan of a run, or of the shard `range` of it. */
export async function readPlan(deps: PlanDeps, runId: string, range?: ItemRange) {
  const { prisma, secretKey, callable } = deps;
  const run = await prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { models: true } });
  const conversations = await prisma.conversation.findMany({ where: { runId }, select: { id: true, modelId: true } });
  // Attempts already made, for the items still to run only: those that completed never run
  // again, and a large run resumed near its end would otherwise hold an entry for each of them.
  // Trace numbers go on from the highest; the retry budget counts only the attempts a provider
  // answered (ok or error), not calls cut off by a shutdown or a crash, nor cancelled ones.
  const ids = range ? { id: { gte: range.fromId, lte: range.toId } } : {};
  const pending = { runId, item: { is: { status: 'pending', ...ids } } };
  const [numbered, answered] = await Promise.all([
    prisma.trace.groupBy({ by: ['itemId'], where: pending, _max: { attempt: true } }),
    prisma.trace.groupBy({ by: ['itemId'], where: { ...pending, status: { in: ['ok', 'error'] } }, _count: true }),
  ]);
  const answeredBy = new Map(answered.map((a) => [a.itemId, a._count]));
  const runScorers = storedScorers(run.scorers);
  const asserts = await promptAsserts(prisma, run.promptSetId);
  const scoring =
    runScorers.length || asserts.length
      ? {
          scorers: runScorers,
          judges: await resolveJudges(prisma, [...runScorers, ...asserts.flat()], secretKey, callable),
        }
      : null;
  // A shard of a stretch under way: the stretch's time so far counts as the run's before it.
  const stretchMs = range && run.stretchStartedAt ? Math.max(0, Date.now() - run.stretchStartedAt.getTime()) : 0;
  const plan: RunPlan = {
    runId,
    promptSetId: run.promptSetId,
    concurrency: run.concurrency,
    delayMs: run.delayMs,
    maxRetries: run.maxRetries,
    timeoutMs: run.timeoutMs,
    total: run.totalItems,
    // One frozen ResolvedModel per model of the run, from its snapshot, never from the registry.
    models: new Map(run.models.map((m) => [m.modelId, resolveSnapshot(m, secretKey)])),
    conversations: new Map(conversations.map((c) => [c.modelId, c.id])),
    priorAttempts: new Map(
      numbered
        .filter((a) => a.itemId)
        .map((a) => [a.itemId!, { last: a._max.attempt ?? 0, answered: answeredBy.get(a.itemId) ?? 0 }]),
    ),
    scoring,
    priorActiveMs: run.activeMs + stretchMs,
    ...(range ? { shard: range } : {}),
  };
  return { run, plan };
}

/** The `asserts` of a prompt set's prompts that have some (few sets do; most prompts none). */
export async function promptAsserts(prisma: PrismaClient, promptSetId: string): Promise<ScorerSpec[][]> {
  const rows = await prisma.$queryRaw<Array<{ asserts: unknown }>>`
    SELECT "asserts" FROM "Prompt" WHERE "promptSetId" = ${promptSetId} AND "asserts" IS NOT NULL`;
  // SQLite hands raw JSON columns back as text.
  return rows.map((r) => storedScorers(typeof r.asserts === 'string' ? JSON.parse(r.asserts) : r.asserts));
}
