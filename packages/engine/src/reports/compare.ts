// Lines up runs on the same prompt set prompt by prompt, with aggregates per (run, model).
import type { Prisma, PrismaClient } from '@batchlight/db';
import { EngineInputError, NotFoundError } from '../errors.js';
import type { RunSnapshot } from '../events/stats-store.js';
import { FINISHED_RUN_STATUSES } from '../events/types.js';
import { promptText } from '../run/prompts.js';
import { ascending, percentile } from './stats.js';

export interface CompareColumn {
  key: string;
  runId: string;
  runName: string | null;
  modelId: string;
  modelName: string;
  provider: string;
  providerModel: string;
}

export interface CompareAggregate {
  items: number;
  completed: number;
  failed: number;
  successRate: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
  ttftP50: number | null;
  ttftP95: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  mismatches: number;
  /** Answers the provider ended with finish_reason `length`: cut off by max tokens. */
  lengthFinishes: number;
}

export interface CompareCell {
  status: string;
  output: string | null;
  latencyMs: number | null;
  ttftMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  attribution: string | null;
  responseModel: string | null;
  traceId: string | null;
}

export interface CompareRow {
  promptIndex: number;
  prompt: string;
  expected: string | null;
  cells: Record<string, CompareCell | null>;
  /** Differences from the first column (positive: slower / dearer than it). */
  deltas: Record<string, { latencyMs: number | null; costUsd: number | null }>;
}

export interface CompareReport {
  promptSetId: string;
  repeats: number;
  columns: CompareColumn[];
  aggregates: Record<string, CompareAggregate>;
  rows: CompareRow[];
  nextCursor: number | null;
}

/** A finished run's exact aggregates per model, as kept in RunStats.compare. */
interface SavedCompare {
  finishedAt: string;
  aggregates: Record<string, CompareAggregate>;
}

const FINISHED = new Set<string>(FINISHED_RUN_STATUSES);

/** One (run, model)'s figures from its rows: a scan of its items and final traces. */
async function exactAggregate(prisma: PrismaClient, runId: string, modelId: string): Promise<CompareAggregate> {
  const where = { runId, modelId };
  const [counts, ok] = await Promise.all([
    prisma.runItem.groupBy({ by: ['status'], where, _count: true }),
    prisma.trace.findMany({
      where: { ...where, status: 'ok', finalOf: { isNot: null } },
      select: {
        latencyMs: true,
        ttftMs: true,
        inputTokens: true,
        outputTokens: true,
        costUsd: true,
        attribution: true,
        finishReason: true,
      },
    }),
  ]);
  const n = (s: string) => counts.find((c) => c.status === s)?._count ?? 0;
  const items = counts.reduce((a, c) => a + c._count, 0);
  const lat = ascending(ok.map((t) => t.latencyMs));
  const ttft = ascending(ok.map((t) => t.ttftMs));
  const done = n('completed') + n('failed');
  return {
    items,
    completed: n('completed'),
    failed: n('failed'),
    successRate: done ? n('completed') / done : null,
    latencyP50: percentile(lat, 50),
    latencyP95: percentile(lat, 95),
    ttftP50: percentile(ttft, 50),
    ttftP95: percentile(ttft, 95),
    inputTokens: ok.reduce((a, t) => a + (t.inputTokens ?? 0), 0),
    outputTokens: ok.reduce((a, t) => a + (t.outputTokens ?? 0), 0),
    costUsd: ok.reduce((a, t) => a + (t.costUsd ?? 0), 0),
    mismatches: ok.filter((t) => t.attribution === 'mismatch').length,
    lengthFinishes: ok.filter((t) => t.finishReason === 'length').length,
  };
}

/** A running run's figures for one model, from its live aggregates. */
function liveAggregate(snap: RunSnapshot, modelId: string, items: number): CompareAggregate {
  const m = snap.models.find((x) => x.modelId === modelId);
  const done = m ? m.completed + m.failed : 0;
  return {
    items,
    completed: m?.completed ?? 0,
    failed: m?.failed ?? 0,
    successRate: m && done ? m.completed / done : null,
    latencyP50: m?.latency.p50 ?? null,
    latencyP95: m?.latency.p95 ?? null,
    ttftP50: m?.ttft.p50 ?? null,
    ttftP95: m?.ttft.p95 ?? null,
    inputTokens: m?.inputTokens ?? 0,
    outputTokens: m?.outputTokens ?? 0,
    costUsd: m?.costUsd ?? 0,
    mismatches: m?.mismatches ?? 0,
    lengthFinishes: m?.lengthFinishes ?? 0,
  };
}

/**
 * A page of the comparison. Aggregates come from what is kept per run, not from a scan per page:
 * a finished run's exact figures are computed at its first comparison and kept (RunStats.compare);
 * a run still going gives its live aggregates through `live` (without it, they are computed).
 */
export async function compareRuns(
  prisma: PrismaClient,
  runIds: string[],
  opts: { cursor?: number; limit?: number; live?: (runId: string) => Promise<RunSnapshot> } = {},
): Promise<CompareReport> {
  runIds = [...new Set(runIds)];
  if (!runIds.length) throw new EngineInputError('runIds', 'choose at least one run');
  const runs = await prisma.run.findMany({
    where: { id: { in: runIds } },
    include: { models: { orderBy: { position: 'asc' } } },
  });
  const missing = runIds.find((id) => !runs.some((r) => r.id === id));
  if (missing) throw new NotFoundError('runIds', `run ${missing} not found`);
  const ordered = runIds.map((id) => runs.find((r) => r.id === id)!);
  const promptSetId = ordered[0]!.promptSetId;
  if (ordered.some((r) => r.promptSetId !== promptSetId))
    throw new EngineInputError('runIds', 'runs can only be compared on the same prompt set');

  const columns: CompareColumn[] = ordered.flatMap((r) =>
    r.models.map((m) => ({
      key: `${r.id}:${m.modelId}`,
      runId: r.id,
      runName: r.name,
      modelId: m.modelId,
      modelName: m.name,
      provider: m.provider,
      providerModel: m.providerModel,
    })),
  );

  const aggregates: Record<string, CompareAggregate> = {};
  const saved = await prisma.runStats.findMany({
    where: { runId: { in: runIds } },
    select: { runId: true, compare: true },
  });
  const savedOf = new Map(saved.map((r) => [r.runId, r.compare as SavedCompare | null]));
  for (const run of ordered) {
    const keyOf = (modelId: string) => `${run.id}:${modelId}`;
    const finishedAt = FINISHED.has(run.status) ? (run.finishedAt?.toISOString() ?? null) : null;
    const kept = savedOf.get(run.id);
    if (finishedAt && kept?.finishedAt === finishedAt) {
      for (const [modelId, a] of Object.entries(kept.aggregates)) aggregates[keyOf(modelId)] = a;
      continue;
    }
    if (!finishedAt && opts.live) {
      // Still going: the aggregates kept as its events commit (percentiles within a bin, 8%).
      const snap = await opts.live(run.id);
      const perModel = run.models.length ? run.totalItems / run.models.length : 0;
      for (const m of run.models) aggregates[keyOf(m.modelId)] = liveAggregate(snap, m.modelId, perModel);
      continue;
    }
    const computed: Record<string, CompareAggregate> = {};
    for (const m of run.models) computed[m.modelId] = await exactAggregate(prisma, run.id, m.modelId);
    for (const [modelId, a] of Object.entries(computed)) aggregates[keyOf(modelId)] = a;
    if (finishedAt) {
      // A finished run's figures do not change: computed once, kept with the finish they are of.
      const compare = { finishedAt, aggregates: computed } satisfies SavedCompare as unknown as Prisma.InputJsonValue;
      await prisma.runStats.upsert({
        where: { runId: run.id },
        create: { runId: run.id, seq: 0, compare },
        update: { compare },
      });
    }
  }

  const start = Math.max(0, Math.floor(opts.cursor ?? 0));
  const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 50)), 500);
  // Only prompts some run covered: a run with promptLimit N ran prompts 0..N-1.
  const covered = ordered.some((r) => r.promptLimit == null)
    ? Infinity
    : Math.max(...ordered.map((r) => r.promptLimit!));
  const prompts = await prisma.prompt.findMany({
    where: { promptSetId, index: { gte: start, ...(Number.isFinite(covered) ? { lt: covered } : {}) } },
    orderBy: { index: 'asc' },
    take: limit,
  });
  const indexes = prompts.map((p) => p.index);
  const items = indexes.length
    ? await prisma.runItem.findMany({
        // Every column of the unique (runId, modelId, promptIndex, repeatIndex) index: a lookup
        // per cell, not a scan of the runs' items.
        where: {
          runId: { in: runIds },
          modelId: { in: [...new Set(columns.map((c) => c.modelId))] },
          promptIndex: { in: indexes },
          repeatIndex: 0,
        },
        include: {
          finalTrace: {
            select: {
              id: true,
              output: true,
              latencyMs: true,
              ttftMs: true,
              inputTokens: true,
              outputTokens: true,
              costUsd: true,
              attribution: true,
              responseModel: true,
            },
          },
        },
      })
    : [];
  const cellOf = new Map(items.map((i) => [`${i.runId}:${i.modelId}:${i.promptIndex}`, i]));
  const first = columns[0]!.key;
  const rows: CompareRow[] = prompts.map((p) => {
    const cells: Record<string, CompareCell | null> = {};
    for (const col of columns) {
      const i = cellOf.get(`${col.key}:${p.index}`);
      const t = i?.finalTrace;
      cells[col.key] = i
        ? {
            status: i.status,
            output: t?.output ?? null,
            latencyMs: t?.latencyMs ?? null,
            ttftMs: t?.ttftMs ?? null,
            inputTokens: t?.inputTokens ?? null,
            outputTokens: t?.outputTokens ?? null,
            costUsd: t?.costUsd ?? null,
            attribution: t?.attribution ?? null,
            responseModel: t?.responseModel ?? null,
            traceId: t?.id ?? null,
          }
        : null;
    }
    const base = cells[first];
    const deltas: CompareRow['deltas'] = {};
    for (const col of columns.slice(1)) {
      const c = cells[col.key];
      deltas[col.key] = {
        latencyMs: c?.latencyMs != null && base?.latencyMs != null ? c.latencyMs - base.latencyMs : null,
        costUsd: c?.costUsd != null && base?.costUsd != null ? c.costUsd - base.costUsd : null,
      };
    }
    return { promptIndex: p.index, prompt: promptText(p.input), expected: p.expected, cells, deltas };
  });
  const more = prompts.length === limit && start + limit < covered;
  return {
    promptSetId,
    repeats: Math.max(...ordered.map((r) => r.repeats)),
    columns,
    aggregates,
    rows,
    nextCursor: more ? start + limit : null,
  };
}
