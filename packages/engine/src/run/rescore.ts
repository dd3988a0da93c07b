// Re-scoring a finished run from what it stored: the answers are read from the items' final traces,
// so no tested model is called again; only judges make calls (each its own trace, as in a run).
import type { Prisma, PrismaClient, Run } from '@batchlight/db';
import type { LlmClient, ResolvedModel } from '@batchlight/llm';
import { type ScoreInput, type ScorerSpec, scorerNameOf } from '@batchlight/scoring';
import type { BatchWriter } from '../events/writer.js';
import { promptText } from './prompts.js';
import { judgeItem, type NamedScorer, type ScoreView, scoreRow, scoreWithoutModels, storedScorers } from './scoring.js';

const PAGE = 200;

export interface RescoreResult {
  /** Answered items scored. */
  items: number;
  /** Score rows written (one per item and scorer; a scorer's earlier row is replaced). */
  scores: number;
  /** Calls made to judges; the tested models are never called. */
  judgeCalls: number;
}

export async function rescoreRun(
  deps: { prisma: PrismaClient; writer: BatchWriter; llm: LlmClient },
  run: Run,
  scorers: ScorerSpec[],
  judges: Map<string, ResolvedModel | string>,
): Promise<RescoreResult> {
  const { prisma, writer } = deps;
  const named: NamedScorer[] = scorers.map((spec) => ({ name: scorerNameOf(spec), spec }));
  const result: RescoreResult = { items: 0, scores: 0, judgeCalls: 0 };
  let cursor: string | undefined;
  for (;;) {
    const items = await prisma.runItem.findMany({
      where: {
        runId: run.id,
        status: 'completed',
        finalTraceId: { not: null },
        ...(cursor ? { id: { gt: cursor } } : {}),
      },
      orderBy: { id: 'asc' },
      take: PAGE,
      select: {
        id: true,
        promptIndex: true,
        finalTrace: { select: { id: true, output: true, latencyMs: true, costUsd: true } },
      },
    });
    if (!items.length) break;
    cursor = items[items.length - 1]!.id;
    const prompts = new Map(
      (
        await prisma.prompt.findMany({
          where: { promptSetId: run.promptSetId, index: { in: [...new Set(items.map((i) => i.promptIndex))] } },
          select: { index: true, input: true, expected: true },
        })
      ).map((p) => [p.index, p]),
    );
    const work = items.map((it) => {
      const prompt = prompts.get(it.promptIndex);
      const trace = it.finalTrace!;
      const input: ScoreInput = {
        input: prompt ? promptText(prompt.input) : '',
        expected: prompt?.expected ?? null,
        output: trace.output ?? '',
        latencyMs: trace.latencyMs,
        costUsd: trace.costUsd,
      };
      return { itemId: it.id, traceId: trace.id, input, views: scoreWithoutModels(named, input) as ScoreView[] };
    });
    // The judges' calls of the page, at most the run's concurrency at a time.
    const judgeTasks = work.flatMap((w) =>
      named
        .filter((n): n is NamedScorer & { spec: { type: 'judge' } } => n.spec.type === 'judge')
        .map((n) => async () => {
          const judged = await judgeItem(
            { llm: deps.llm, timeoutMs: run.timeoutMs },
            judges.get(n.spec.judge) ?? `judge model "${n.spec.judge}" is not registered`,
            { name: n.name, spec: n.spec },
            w.input,
            w.traceId,
          );
          if (judged.trace) result.judgeCalls++;
          w.views.push(judged.view);
          return judged.trace;
        }),
    );
    const traces = (await pool(judgeTasks, run.concurrency)).filter((t) => t !== null);
    const scores = work.flatMap((w) => w.views.map((v) => scoreRow(run.id, w.itemId, v)));
    // One transaction per page: its judges' traces and every score row (replacing earlier ones).
    await writer.write({ traces, scores });
    result.items += work.length;
    result.scores += scores.length;
    if (items.length < PAGE) break;
  }
  // The scorers join the run's own once their scores are stored (one of the same name is replaced).
  const names = new Set(named.map((n) => n.name));
  const kept = storedScorers(run.scorers).filter((s) => !names.has(scorerNameOf(s)));
  await prisma.run.update({ where: { id: run.id }, data: { scorers: [...kept, ...scorers] as Prisma.InputJsonValue } });
  return result;
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}
