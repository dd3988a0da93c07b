// Scoring an answered item: the scorers that need no model run at once, in the write that completes
// the item; each judge is a call of its own, recorded as a trace under the judge model (never the
// judged one), linked to the trace it judged, with no run, item or message of its own.
import type { PrismaClient, ScoreRow, TraceRow } from '@batchlight/db';
import type { LlmClient, ResolvedModel } from '@batchlight/llm';
import {
  errored,
  type JudgeSpec,
  judgeMessages,
  readVerdict,
  type ScoreInput,
  type ScoreResult,
  type ScorerSpec,
  scoreLocal,
  scorerList,
  scorerNameOf,
} from '@batchlight/scoring';
import { EngineInputError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { resolveRegistryModel } from '../models/resolve.js';
import { traceRecord } from './records.js';

export interface NamedScorer {
  name: string;
  spec: ScorerSpec;
}

/** One scorer's result, as events and reports carry it. */
export interface ScoreView {
  scorer: string;
  status: ScoreResult['status'];
  score: number | null;
  reason: string;
  /** Judges only: the judge's call and the model that made it (never the judged model). */
  judgeTraceId: string | null;
  judgeModelId: string | null;
}

/** Stored scorer specs (a run's `scorers`, a prompt's `asserts`), read back; null when none. */
export function storedScorers(value: unknown): ScorerSpec[] {
  if (value == null) return [];
  const r = scorerList.safeParse(value);
  // Written through the same schema; a row that no longer reads is a bug, not user input.
  if (!r.success) throw new Error(`stored scorers do not read: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** An item's scorers: its prompt's asserts, then the run's scorers whose names those left free. */
export function scorersOf(runScorers: readonly ScorerSpec[], asserts: readonly ScorerSpec[]): NamedScorer[] {
  const out: NamedScorer[] = [];
  const taken = new Set<string>();
  for (const spec of [...asserts, ...runScorers]) {
    const name = scorerNameOf(spec);
    if (taken.has(name)) continue;
    taken.add(name);
    out.push({ name, spec });
  }
  return out;
}

/** The judge models named by `specs` (id or name), resolved from the registry: ref → model or why not. */
export async function resolveJudges(
  prisma: PrismaClient,
  specs: Iterable<ScorerSpec>,
  secretKey: string | undefined,
  callable: (m: ResolvedModel) => ResolvedModel,
): Promise<Map<string, ResolvedModel | string>> {
  const refs = new Set<string>();
  for (const s of specs) if (s.type === 'judge') refs.add(s.judge);
  const out = new Map<string, ResolvedModel | string>();
  if (!refs.size) return out;
  const rows = await prisma.model.findMany({ where: { OR: [{ id: { in: [...refs] } }, { name: { in: [...refs] } }] } });
  for (const ref of refs) {
    const row = rows.find((r) => r.id === ref) ?? rows.find((r) => r.name === ref);
    if (!row) out.set(ref, `judge model "${ref}" is not registered`);
    else if (row.archivedAt) out.set(ref, `judge model "${row.name}" is archived`);
    else
      try {
        out.set(ref, callable(resolveRegistryModel(row, secretKey)));
      } catch (err) {
        out.set(ref, `judge model "${row.name}": ${(err as Error).message}`);
      }
  }
  return out;
}

/**
 * A run's scorers as given, checked: each judge must name a usable registered model, and is
 * stored by its id (a rename in the registry changes nothing).
 */
export async function checkRunScorers(
  prisma: PrismaClient,
  specs: readonly ScorerSpec[],
  secretKey: string | undefined,
  callable: (m: ResolvedModel) => ResolvedModel,
  field = 'scorers',
): Promise<ScorerSpec[]> {
  // The API has checked them already; a caller of the engine's own may not have.
  const parsed = scorerList.safeParse(specs);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [index, ...rest] = issue.path.map(String);
    throw new EngineInputError(`${field}[${index ?? ''}]${rest.map((r) => `.${r}`).join('')}`, issue.message);
  }
  const judges = await resolveJudges(prisma, parsed.data, secretKey, callable);
  return parsed.data.map((s, i) => {
    if (s.type !== 'judge') return s;
    const j = judges.get(s.judge)!;
    if (typeof j === 'string') throw new EngineInputError(`${field}[${i}].judge`, j);
    // The name is kept as given (or derived from what the user wrote), so results keep their name.
    return { ...s, name: scorerNameOf(s), judge: j.modelId };
  });
}

/** The results of the scorers that need no model; judges are left to `judgeItem`. */
export function scoreWithoutModels(scorers: readonly NamedScorer[], item: ScoreInput): ScoreView[] {
  const out: ScoreView[] = [];
  for (const { name, spec } of scorers) {
    if (spec.type === 'judge') continue;
    let r: ScoreResult;
    try {
      r = scoreLocal(spec, item);
    } catch (err) {
      r = errored(`the scorer failed: ${(err as Error).message}`);
    }
    out.push({ scorer: name, ...r, judgeTraceId: null, judgeModelId: null });
  }
  return out;
}

export interface JudgeCall {
  llm: LlmClient;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * One judge's call on one answer. The trace is built from the judge's own frozen model
 * (`outcome.model`), with no run and no item: the judged model appears nowhere in it but as the
 * trace it links to.
 */
export async function judgeItem(
  call: JudgeCall,
  judge: ResolvedModel | string,
  scorer: { name: string; spec: JudgeSpec },
  item: ScoreInput,
  judgedTraceId: string,
): Promise<{ view: ScoreView; trace: TraceRow | null }> {
  if (typeof judge === 'string')
    return { view: { scorer: scorer.name, ...errored(judge), judgeTraceId: null, judgeModelId: null }, trace: null };
  const messages = judgeMessages(scorer.spec.rubric, item);
  const outcome = await call.llm.call(judge, { messages, timeoutMs: call.timeoutMs, signal: call.signal });
  const trace: TraceRow = {
    ...traceRecord(outcome, messages, { runId: null, itemId: null, attempt: 1 }),
    judgedTraceId,
  };
  const result = outcome.ok
    ? readVerdict(outcome.output)
    : errored(`the judge's call failed (${outcome.error.type}): ${outcome.error.message}`);
  return {
    view: { scorer: scorer.name, ...result, judgeTraceId: trace.id, judgeModelId: outcome.model.modelId },
    trace,
  };
}

export function scoreRow(runId: string, itemId: string, v: ScoreView, at = new Date()): ScoreRow {
  return {
    id: uuidv7(at.getTime()),
    runId,
    itemId,
    scorer: v.scorer,
    status: v.status,
    score: v.score,
    reason: v.reason,
    judgeTraceId: v.judgeTraceId,
    createdAt: at,
  };
}
