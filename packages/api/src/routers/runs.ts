import type { Run } from '@batchlight/db';
import {
  auditRun,
  compareRuns,
  exportRun,
  isRowField,
  type MatrixQuery,
  PREVIEW_CHARS,
  type RunEventMessage,
  type RunFeedMessage,
  readEventLog,
  runMatrix,
  runOutcome,
  runTimes,
} from '@batchlight/engine';
import { type TRPCRouterRecord, tracked } from '@trpc/server';
import { z } from 'zod';
import { idempotent } from '../idempotency.js';
import {
  createRunInput,
  cursor,
  FINISHED_RUN_STATUSES,
  id,
  itemStatus,
  limit,
  listRunsInput,
  matrixInput,
} from '../schemas.js';
import { notFound, publicProcedure } from '../trpc.js';
import { runModelView } from '../views.js';
import { nextEvent } from '../wait.js';

const TERMINAL = new Set<string>(FINISHED_RUN_STATUSES);

/**
 * A run row with what it came to (`outcome`) and its times (`activeMs`, `wallMs`). A stretch left
 * open by a crash counts only once the run starts again (its end is read from the log then).
 */
function runSummary<R extends Run>(run: R, executing: boolean, now: number) {
  const { stretchStartedAt, ...rest } = run;
  return {
    ...rest,
    outcome: runOutcome(run),
    ...runTimes({ ...run, stretchStartedAt: executing ? stretchStartedAt : null }, now),
  };
}

export const runsRouter = {
  /** Validates, snapshots the models, creates every item in one transaction, starts the run. */
  create: publicProcedure.input(createRunInput).mutation(({ ctx, input }) => {
    const { requestId: _, ...run } = input;
    return idempotent(
      ctx,
      'runs.create',
      input,
      (claim) => ctx.engine.createRun(run, { inTransaction: claim }),
      (id) => ctx.db.prisma.run.findUnique({ where: { id } }),
    );
  }),

  list: publicProcedure.input(listRunsInput).query(async ({ ctx, input }) => {
    const runs = await ctx.db.prisma.run.findMany({
      where: {
        ...(input.status ? { status: input.status } : {}),
        ...(input.cursor ? { id: { lt: input.cursor } } : {}),
      },
      orderBy: { id: 'desc' },
      take: input.limit,
      include: {
        models: {
          select: { modelId: true, name: true, provider: true, providerModel: true },
          orderBy: { position: 'asc' },
        },
        promptSet: { select: { id: true, name: true } },
      },
    });
    const now = Date.now();
    return {
      runs: runs.map((r) => runSummary(r, ctx.engine.isExecuting(r.id), now)),
      nextCursor: runs.length === input.limit ? runs[runs.length - 1]!.id : null,
    };
  }),

  get: publicProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const run = await ctx.db.prisma.run.findUnique({
      where: { id: input.id },
      include: {
        models: { orderBy: { position: 'asc' } },
        promptSet: { select: { id: true, name: true, promptCount: true } },
      },
    });
    if (!run) notFound('id', `run ${input.id}`);
    const executing = ctx.engine.isExecuting(run.id);
    return { ...runSummary(run, executing, Date.now()), models: run.models.map(runModelView), executing };
  }),

  items: publicProcedure
    .input(
      z.object({ runId: id, status: itemStatus.optional(), modelId: id.optional(), cursor, limit: limit(1000, 200) }),
    )
    .query(async ({ ctx, input }) => {
      const exists = await ctx.db.prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } });
      if (!exists) notFound('runId', `run ${input.runId}`);
      const items = await ctx.db.prisma.runItem.findMany({
        where: {
          runId: input.runId,
          ...(input.status ? { status: input.status } : {}),
          ...(input.modelId ? { modelId: input.modelId } : {}),
          ...(input.cursor ? { id: { gt: input.cursor } } : {}),
        },
        orderBy: { id: 'asc' },
        take: input.limit,
        include: {
          finalTrace: {
            select: {
              id: true,
              status: true,
              requestedModel: true,
              responseModel: true,
              attribution: true,
              latencyMs: true,
              ttftMs: true,
              inputTokens: true,
              outputTokens: true,
              costUsd: true,
              output: true,
              finishReason: true,
              errorType: true,
              errorMessage: true,
              httpStatus: true,
            },
          },
        },
      });
      return {
        items: items.map(({ finalTrace: t, ...item }) => ({
          ...item,
          trace: t ? { ...t, output: undefined, outputPreview: t.output?.slice(0, PREVIEW_CHARS) ?? null } : null,
        })),
        nextCursor: items.length === input.limit ? items[items.length - 1]!.id : null,
      };
    }),

  /** A finished run cannot be cancelled: CONFLICT naming `id`. */
  cancel: publicProcedure
    .meta({ fields: { runId: 'id' } })
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => ctx.engine.cancelRun(input.id)),

  resume: publicProcedure
    .meta({ fields: { runId: 'id' } })
    .input(z.object({ id, retryFailed: z.boolean().default(false) }))
    .mutation(({ ctx, input }) => ctx.engine.resumeRun(input.id, { retryFailed: input.retryFailed })),

  audit: publicProcedure.input(z.object({ runId: id })).query(({ ctx, input }) => auditRun(ctx.db.prisma, input.runId)),

  /** One run as a matrix (prompts × models and repeats), searched, filtered, sorted and paged server-side. */
  matrix: publicProcedure.input(matrixInput).query(({ ctx, input }) => {
    const { runId, sortColumn, sortField, ...query } = input;
    let sort: MatrixQuery['sort'];
    if (sortField && isRowField(sortField)) sort = { field: sortField };
    else if (sortField) sort = { field: sortField, column: sortColumn ?? '' };
    return runMatrix(ctx.db.prisma, runId, { ...query, sort });
  }),

  compare: publicProcedure
    .input(
      z.object({
        runIds: z.array(id).min(1, 'choose at least one run').max(10),
        cursor: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(500).optional(),
      }),
    )
    .query(({ ctx, input }) => compareRuns(ctx.db.prisma, input.runIds, { cursor: input.cursor, limit: input.limit })),

  /** Streams the run as CSV or JSONL text chunks (use httpBatchStreamLink); never holds the run in memory. */
  export: publicProcedure.input(z.object({ runId: id, format: z.enum(['csv', 'jsonl']) })).query(async function* ({
    ctx,
    input,
  }) {
    const exists = await ctx.db.prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } });
    if (!exists) notFound('runId', `run ${input.runId}`);
    yield* exportRun(ctx.db.prisma, input.runId, input.format);
  }),

  /**
   * The run's events from `lastEventId` on: subscribes to the live bus first, then replays the
   * log, then goes on live, so no seq is skipped or sent twice. Ends after `run.finished`.
   */
  events: publicProcedure
    .input(z.object({ runId: id, lastEventId: z.string().regex(/^\d+$/, 'must be an event seq').nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const { prisma } = ctx.db;
      const exists = await prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } });
      if (!exists) notFound('runId', `run ${input.runId}`);
      const live: RunEventMessage[] = [];
      const wake = { fn: null as null | (() => void) };
      const unsubscribe = ctx.engine.bus.subscribe(input.runId, (e) => {
        live.push(e);
        wake.fn?.();
      });
      try {
        let last = input.lastEventId ? Number(input.lastEventId) : 0;
        let lastType: string | null = null;
        for await (const e of readEventLog(prisma, input.runId, last)) {
          yield tracked(String(e.seq), e);
          last = e.seq;
          lastType = e.type;
        }
        if (lastType === 'run.finished' && !ctx.engine.isExecuting(input.runId)) return;
        for (;;) {
          while (live.length) {
            const e = live.shift()!;
            if (e.seq <= last) continue; // already replayed from the log
            yield tracked(String(e.seq), e);
            last = e.seq;
            if (e.type === 'run.finished') return;
          }
          if (!ctx.engine.isExecuting(input.runId)) {
            const run = await prisma.run.findUnique({ where: { id: input.runId }, select: { status: true } });
            if (run && TERMINAL.has(run.status) && !live.length) return;
          }
          if (!(await nextEvent(wake, signal, 5_000))) return;
        }
      } finally {
        unsubscribe();
      }
    }),

  /** Run-list changes (status and counters), for live lists. */
  feed: publicProcedure.subscription(async function* ({ ctx, signal }) {
    const queue: RunFeedMessage[] = [];
    const wake = { fn: null as null | (() => void) };
    const unsubscribe = ctx.engine.bus.subscribeFeed((m) => {
      // Only the latest state per run matters to a list.
      const i = queue.findIndex((q) => q.runId === m.runId);
      if (i >= 0) queue[i] = m;
      else queue.push(m);
      wake.fn?.();
    });
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (!(await nextEvent(wake, signal, 30_000))) return;
      }
    } finally {
      unsubscribe();
    }
  }),
} satisfies TRPCRouterRecord;
