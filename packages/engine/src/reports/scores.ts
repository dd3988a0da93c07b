// The scores of runs, summed up honestly: per model a pass rate with its Wilson interval and a mean
// score with its bootstrap interval, over answered items only (an item whose call failed, or that
// a scorer could not judge, is an error, counted beside them, never a failure); with repeats, the
// flakiest prompts; the judges' calls and cost apart from the tested models'; and paired tests
// between columns on the prompts they share.
import type { PrismaClient } from '@batchlight/db';
import {
  bootstrapMean,
  comparePaired,
  consistency,
  type Interval,
  type PairedComparison,
  wilson,
} from '@batchlight/scoring/stats';
import { EngineInputError, NotFoundError } from '../errors.js';

/** How one item came out over all its scorers. */
export type ItemVerdict = 'pass' | 'fail' | 'error';

export interface ScorerSummary {
  scorer: string;
  passes: number;
  fails: number;
  errors: number;
  passRate: Interval | null;
  meanScore: Interval | null;
}

export interface ModelScores {
  key: string;
  runId: string;
  modelId: string;
  modelName: string;
  /** Items that passed every scorer / failed one / could not be judged (the call or a scorer errored). */
  passes: number;
  fails: number;
  errors: number;
  /** Over passes + fails only. */
  passRate: Interval | null;
  /** Mean over answered items of their mean score. */
  meanScore: Interval | null;
  scorers: ScorerSummary[];
  /** With repeats: mean share of repeats agreeing, and the least consistent prompts (at most 5). */
  consistency: {
    mean: number;
    flakiest: Array<{ promptIndex: number; consistency: number; passes: number; answered: number }>;
  } | null;
}

export interface JudgeCost {
  modelId: string;
  modelName: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RunScores {
  runId: string;
  scored: boolean;
  models: ModelScores[];
  overall: { passes: number; fails: number; errors: number; passRate: Interval | null };
  /** The judges' calls on this run: never part of the tested models' cost. */
  judges: JudgeCost[];
}

interface ItemOutcome {
  promptIndex: number;
  repeatIndex: number;
  verdict: ItemVerdict;
  score: number | null;
}

/** Every scored (or failed) item of (run, model), with its verdict over its scorers. */
/** Whether any item of `runIds` has a score (most runs have no scorer). */
async function anyScore(prisma: PrismaClient, runIds: string[]): Promise<boolean> {
  return !!(await prisma.score.findFirst({ where: { runId: { in: runIds } }, select: { id: true } }));
}

/**
 * Each answered item's verdict. A run with no score has only its failed items to report (errors):
 * those are read, not its every item with its scores (a 100,000-item run read whole took ~1 s).
 */
async function itemOutcomes(prisma: PrismaClient, runId: string, modelId: string, scored = true) {
  const items = await prisma.runItem.findMany({
    where: { runId, modelId, status: scored ? { in: ['completed', 'failed'] } : 'failed' },
    select: {
      status: true,
      promptIndex: true,
      repeatIndex: true,
      scores: { select: { scorer: true, status: true, score: true } },
    },
  });
  const outcomes: ItemOutcome[] = [];
  const perScorer = new Map<string, { passes: number; fails: number; errors: number; values: number[] }>();
  let failedCalls = 0;
  for (const it of items) {
    if (it.status === 'failed') {
      failedCalls++;
      outcomes.push({ promptIndex: it.promptIndex, repeatIndex: it.repeatIndex, verdict: 'error', score: null });
      continue;
    }
    if (!it.scores.length) continue; // answered, not scored
    let verdict: ItemVerdict = 'pass';
    let sum = 0;
    for (const s of it.scores) {
      let acc = perScorer.get(s.scorer);
      if (!acc) {
        acc = { passes: 0, fails: 0, errors: 0, values: [] };
        perScorer.set(s.scorer, acc);
      }
      if (s.status === 'error') {
        acc.errors++;
        verdict = 'error';
      } else {
        if (s.status === 'pass') acc.passes++;
        else acc.fails++;
        acc.values.push(s.score ?? 0);
        sum += s.score ?? 0;
        if (s.status === 'fail' && verdict === 'pass') verdict = 'fail';
      }
    }
    outcomes.push({
      promptIndex: it.promptIndex,
      repeatIndex: it.repeatIndex,
      verdict,
      score: verdict === 'error' ? null : sum / it.scores.length,
    });
  }
  const scorers: ScorerSummary[] = [...perScorer.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([scorer, a]) => ({
      scorer,
      passes: a.passes,
      fails: a.fails,
      // A failed call is an error for every scorer: it gave nothing to judge.
      errors: a.errors + failedCalls,
      passRate: wilson(a.passes, a.passes + a.fails),
      meanScore: bootstrapMean(a.values),
    }));
  return { outcomes, scorers };
}

function summarise(outcomes: ItemOutcome[]) {
  const passes = outcomes.filter((o) => o.verdict === 'pass').length;
  const fails = outcomes.filter((o) => o.verdict === 'fail').length;
  const errors = outcomes.length - passes - fails;
  return { passes, fails, errors, passRate: wilson(passes, passes + fails) };
}

export async function runScores(prisma: PrismaClient, runId: string): Promise<RunScores> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    include: { models: { orderBy: { position: 'asc' } } },
  });
  if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
  const all: ItemOutcome[] = [];
  const models: ModelScores[] = [];
  const scored = await anyScore(prisma, [runId]);
  for (const m of run.models) {
    const { outcomes, scorers } = await itemOutcomes(prisma, runId, m.modelId, scored);
    all.push(...outcomes);
    const byPrompt = new Map<string, boolean[]>();
    for (const o of outcomes) {
      if (o.verdict === 'error') continue;
      const k = String(o.promptIndex);
      byPrompt.set(k, [...(byPrompt.get(k) ?? []), o.verdict === 'pass']);
    }
    const agree = run.repeats > 1 ? consistency(byPrompt) : [];
    models.push({
      key: `${runId}:${m.modelId}`,
      runId,
      modelId: m.modelId,
      modelName: m.name,
      ...summarise(outcomes),
      meanScore: bootstrapMean(outcomes.filter((o) => o.score !== null).map((o) => o.score!)),
      scorers,
      consistency: agree.length
        ? {
            mean: agree.reduce((s, a) => s + a.consistency, 0) / agree.length,
            flakiest: agree
              .filter((a) => a.consistency < 1)
              .slice(0, 5)
              .map(({ key, ...a }) => ({ promptIndex: Number(key), ...a })),
          }
        : null,
    });
  }
  // Every judge call leaves a score (an error one when it failed): no score, no judge.
  const judgeRows = scored
    ? await prisma.trace.groupBy({
        by: ['modelId'],
        where: { judgedTrace: { is: { runId } } },
        _count: true,
        _sum: { costUsd: true, inputTokens: true, outputTokens: true },
      })
    : [];
  const judgeNames = await prisma.model.findMany({
    where: { id: { in: judgeRows.map((j) => j.modelId) } },
    select: { id: true, name: true },
  });
  return {
    runId,
    scored: models.some((m) => m.scorers.length),
    models,
    overall: summarise(all),
    judges: judgeRows.map((j) => ({
      modelId: j.modelId,
      modelName: judgeNames.find((n) => n.id === j.modelId)?.name ?? j.modelId,
      calls: j._count,
      inputTokens: j._sum.inputTokens ?? 0,
      outputTokens: j._sum.outputTokens ?? 0,
      costUsd: j._sum.costUsd ?? 0,
    })),
  };
}

export interface ScoreComparison extends PairedComparison {
  baseline: string;
  candidate: string;
  /** Prompts that passed in the baseline and fail in the candidate. */
  regressed: number[];
}

/**
 * Paired tests between the first column (run × model) and each other one, on the prompts both
 * scored. With repeats a prompt passes when most of its answered repeats pass, and its score is
 * their mean. Labels are the model names (with the run's last 8 id characters when runs differ).
 */
export async function compareScores(prisma: PrismaClient, runIds: string[]): Promise<ScoreComparison[]> {
  runIds = [...new Set(runIds)];
  if (!runIds.length) throw new EngineInputError('runIds', 'choose at least one run');
  const runs = await prisma.run.findMany({
    where: { id: { in: runIds } },
    include: { models: { orderBy: { position: 'asc' } } },
  });
  const missing = runIds.find((id) => !runs.some((r) => r.id === id));
  if (missing) throw new NotFoundError('runIds', `run ${missing} not found`);
  const ordered = runIds.map((id) => runs.find((r) => r.id === id)!);
  const columns = ordered.flatMap((r) =>
    r.models.map((m) => ({
      key: `${r.id}:${m.modelId}`,
      label: runIds.length > 1 ? `${m.name} (${r.id.slice(-8)})` : m.name,
      runId: r.id,
      modelId: m.modelId,
    })),
  );
  if (columns.length < 2) return [];
  // Most runs have no scorer: nothing to pair, and no reason to read every item of every column.
  if (!(await anyScore(prisma, runIds))) return [];
  const perPrompt = async (runId: string, modelId: string) => {
    const { outcomes } = await itemOutcomes(prisma, runId, modelId);
    const by = new Map<number, ItemOutcome[]>();
    for (const o of outcomes) if (o.verdict !== 'error') by.set(o.promptIndex, [...(by.get(o.promptIndex) ?? []), o]);
    const out = new Map<number, { pass: boolean; score: number }>();
    for (const [p, os] of by)
      out.set(p, {
        pass: os.filter((o) => o.verdict === 'pass').length * 2 > os.length,
        score: os.reduce((s, o) => s + (o.score ?? 0), 0) / os.length,
      });
    return out;
  };
  const base = columns[0]!;
  const baseResults = await perPrompt(base.runId, base.modelId);
  const out: ScoreComparison[] = [];
  for (const col of columns.slice(1)) {
    const results = await perPrompt(col.runId, col.modelId);
    const keys = [...new Set([...baseResults.keys(), ...results.keys()])].sort((a, b) => a - b);
    // A is the candidate, B the baseline: "candidate is better than baseline by …".
    const paired = comparePaired(
      col.label,
      base.label,
      keys.map((k) => ({ key: String(k), a: results.get(k) ?? null, b: baseResults.get(k) ?? null })),
    );
    out.push({
      ...paired,
      baseline: base.key,
      candidate: col.key,
      regressed: keys.filter((k) => baseResults.get(k)?.pass === true && results.get(k)?.pass === false),
    });
  }
  return out;
}
