import { Prisma, type PrismaClient, type Run } from '@batchlight/db';
import {
  type AuditReport,
  auditRun,
  compareRuns,
  compareScores,
  executingElsewhere,
  exportRun,
  FINISHED_RUN_STATUSES,
  isRowField,
  type MatrixQuery,
  PREVIEW_CHARS,
  type RunFeedMessage,
  runMatrix,
  runOutcome,
  runScores,
  runTimes,
} from '@batchlight/engine';
import { scorerList } from '@batchlight/scoring';
import { type TRPCRouterRecord, tracked } from '@trpc/server';
import { z } from 'zod';
import { tailRun } from '../event-tail.js';
import { idempotent } from '../idempotency.js';
import { sharedWhileUnderWay } from '../in-flight.js';
import { createRunInput, cursor, id, itemStatus, limit, listRunsInput, matrixInput } from '../schemas.js';
import { notFound, publicProcedure } from '../trpc.js';
import { runModelView } from '../views.js';
import { nextEvent } from '../wait.js';

/**
 * A run's input with its scorers. Kept out of schemas.ts: that file is loaded in the browser, and
 * the scorers' schema compiles regular expressions and JSON Schemas as it checks them.
 */
const createRunWithScorers = createRunInput.extend({
  /** Scorers run on every answered item (beside each prompt's own asserts). */
  scorers: scorerList.optional(),
});

/** Audits in progress in this process, by run and finish: a second request for one waits on the first. */
const auditOnce = sharedWhileUnderWay<string, AuditReport>();

/**
 * The audits a request may share: those of a run over, asked after the same finish. An audit begun
 * while the run went would answer `still_running` to a request made after its end.
 */
export function auditShareKey(runId: string, run: { status: string; finishedAt: Date | null } | null): string | null {
  if (!run?.finishedAt || !(FINISHED_RUN_STATUSES as readonly string[]).includes(run.status)) return null;
  return `${runId}@${run.finishedAt.toISOString()}`;
}

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

/**
 * Ids of the runs (newest first, after `cursor`) whose name, prompt set's name, or one of whose
 * models' name or provider model holds `search`, in any case on both databases (Prisma's
 * `contains` is case-sensitive on PostgreSQL only).
 */
async function searchRunIds(
  prisma: PrismaClient,
  q: { search: string; status?: string; cursor?: string; limit: number },
): Promise<string[]> {
  const like = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await prisma.$queryRaw<Array<{ id: string }>>(Prisma.sql`
    SELECT r."id" FROM "Run" r JOIN "PromptSet" s ON s."id" = r."promptSetId"
    WHERE (LOWER(COALESCE(r."name", '')) LIKE ${like} ESCAPE '\\'
      OR LOWER(s."name") LIKE ${like} ESCAPE '\\'
      OR EXISTS (SELECT 1 FROM "RunModel" m WHERE m."runId" = r."id"
        AND (LOWER(m."name") LIKE ${like} ESCAPE '\\' OR LOWER(m."providerModel") LIKE ${like} ESCAPE '\\')))
    ${q.status ? Prisma.sql`AND r."status" = ${q.status}` : Prisma.empty}
    ${q.cursor ? Prisma.sql`AND r."id" < ${q.cursor}` : Prisma.empty}
    ORDER BY r."id" DESC LIMIT ${q.limit}`);
  return rows.map((r) => r.id);
}

export const runsRouter = {
  /** Validates, snapshots the models, creates every item in one transaction, starts the run. */
  create: publicProcedure.input(createRunWithScorers).mutation(({ ctx, input }) => {
    const { requestId: _, ...run } = input;
    return idempotent(
      ctx,
      'runs.create',
      input,
      (claim) => ctx.engine.createRun(run, { inTransaction: claim }),
      (id) => ctx.db.prisma.run.findUnique({ where: { id } }),
    );
  }),

  /** Newest first, a page at a time (`nextCursor`), searched by run, prompt set and model names. */
  list: publicProcedure.input(listRunsInput).query(async ({ ctx, input }) => {
    const search = input.search?.trim();
    const ids = search ? await searchRunIds(ctx.db.prisma, { ...input, search }) : null;
    const runs = await ctx.db.prisma.run.findMany({
      where: ids
        ? { id: { in: ids } }
        : {
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
      runs: runs.map((r) => runSummary(r, ctx.engine.isExecuting(r.id) || executingElsewhere(r, now), now)),
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
    const now = Date.now();
    const executing = ctx.engine.isExecuting(run.id) || executingElsewhere(run, now);
    return { ...runSummary(run, executing, now), models: run.models.map(runModelView), executing };
  }),

  /**
   * A run's items in creation order: after a `cursor` (reading them all, as export does), or from
   * an `offset` with the number `matching` the filters (a window of a table, as the monitor's).
   */
  items: publicProcedure
    .input(
      z
        .object({
          runId: id,
          status: itemStatus.optional(),
          modelId: id.optional(),
          /** Only items whose answer came from another model than the one asked. */
          mismatch: z.boolean().optional(),
          cursor,
          offset: z.number().int().min(0, 'must be 0 or more').max(100_000_000).optional(),
          limit: limit(1000, 200),
        })
        .refine((q) => q.cursor == null || q.offset == null, {
          path: ['offset'],
          message: 'give a cursor or an offset, not both',
        }),
    )
    .query(async ({ ctx, input }) => {
      const run = await ctx.db.prisma.run.findUnique({ where: { id: input.runId }, select: { totalItems: true } });
      if (!run) notFound('runId', `run ${input.runId}`);
      const filtered = !!(input.status || input.modelId || input.mismatch);
      const where = {
        runId: input.runId,
        ...(input.status ? { status: input.status } : {}),
        ...(input.modelId ? { modelId: input.modelId } : {}),
        ...(input.mismatch ? { finalTrace: { attribution: 'mismatch' } } : {}),
      };
      // Unfiltered, every item matches: the run's own total, not a count of its rows each second.
      const matching =
        input.offset == null ? null : filtered ? await ctx.db.prisma.runItem.count({ where }) : run.totalItems;
      const items = await ctx.db.prisma.runItem.findMany({
        where: { ...where, ...(input.cursor ? { id: { gt: input.cursor } } : {}) },
        orderBy: { id: 'asc' },
        ...(input.offset ? { skip: input.offset } : {}),
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
        matching,
      };
    }),

  /**
   * Deletes a run that is not going, with its items, traces, messages, events, aggregates and
   * scores (one transaction). A queued or running run: CONFLICT naming `id` and the status.
   */
  delete: publicProcedure
    .meta({ fields: { runId: 'id' } })
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => ctx.engine.deleteRun(input.id)),

  /** A finished run cannot be cancelled: CONFLICT naming `id`. */
  cancel: publicProcedure
    .meta({ fields: { runId: 'id' } })
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => ctx.engine.cancelRun(input.id)),

  resume: publicProcedure
    .meta({ fields: { runId: 'id' } })
    .input(z.object({ id, retryFailed: z.boolean().default(false) }))
    .mutation(({ ctx, input }) => ctx.engine.resumeRun(input.id, { retryFailed: input.retryFailed })),

  /**
   * Adds scorers to a finished run and scores its stored answers with them: the tested models are
   * not called again, only judges. A scorer of a name the run has already is replaced.
   */
  score: publicProcedure
    .input(z.object({ runId: id, scorers: scorerList.min(1, 'give at least one scorer') }))
    .mutation(({ ctx, input }) => ctx.engine.scoreRun(input.runId, input.scorers)),

  /** Pass rates with Wilson intervals, mean scores with bootstrap intervals, errors apart, judges' cost apart. */
  scores: publicProcedure
    .input(z.object({ runId: id }))
    .query(({ ctx, input }) => runScores(ctx.db.prisma, input.runId)),

  /**
   * Every trace and message re-checked. Asked while an audit of the same finished run is under way
   * (each page watching a run asks when it ends), it shares that one: a 100,000-item audit is
   * seconds of work.
   */
  audit: publicProcedure.input(z.object({ runId: id })).query(async ({ ctx, input }) => {
    const run = await ctx.db.prisma.run.findUnique({
      where: { id: input.runId },
      select: { status: true, finishedAt: true },
    });
    const audit = () => auditRun(ctx.db.prisma, input.runId);
    const key = auditShareKey(input.runId, run);
    return key ? auditOnce(key, audit) : audit();
  }),

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
    .query(async ({ ctx, input }) => {
      const report = await compareRuns(ctx.db.prisma, input.runIds, {
        cursor: input.cursor,
        limit: input.limit,
        live: (runId) => ctx.engine.snapshot(runId),
      });
      // Paired tests of each column against the first, on the prompts both scored. They cover the
      // whole runs (every item of every column is read), so they come with the first page only:
      // later pages of the same runs carry null, and cost a page's rows, not the runs'.
      const scores = input.cursor ? null : await compareScores(ctx.db.prisma, input.runIds);
      return { ...report, scores };
    }),

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
   * The run as of its last committed event: counters, per-model aggregates, latency bins and
   * percentiles, a time series of at most 240 buckets, the last retries, and `seq`, the event it
   * reflects. Kept as the run goes: it costs a copy, not a scan. Subscribe to `events` from `seq`.
   */
  snapshot: publicProcedure.input(z.object({ runId: id })).query(async ({ ctx, input }) => {
    const exists = await ctx.db.prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } });
    if (!exists) notFound('runId', `run ${input.runId}`);
    return ctx.engine.snapshot(input.runId);
  }),

  /**
   * The run's events from `lastEventId` on: subscribes to the live bus first, then replays the
   * log, then goes on live, so no seq is skipped or sent twice. Ends after `run.finished`. A
   * subscriber that falls behind by more than a bound gets `{ type: 'resync' }` and the end
   * (`behind: 'resync'`: load `snapshot` and subscribe from its seq), or the log again from where
   * it was (`behind: 'replay'`, the default: every event, paced by how fast it reads).
   */
  events: publicProcedure
    .input(
      z.object({
        runId: id,
        lastEventId: z.string().regex(/^\d+$/, 'must be an event seq').nullish(),
        behind: z.enum(['replay', 'resync']).default('replay'),
        /**
         * The item rows whose item.started/completed/failed events come: all, none, or those of the
         * prompts from `fromPrompt` to `toPrompt` (a table's window; it pages rows from runs.items).
         */
        items: z
          .union([
            z.boolean(),
            z
              .object({ fromPrompt: z.number().int().min(0), toPrompt: z.number().int().min(0) })
              .refine((w) => w.toPrompt >= w.fromPrompt, { path: ['toPrompt'], message: 'must be ≥ fromPrompt' }),
          ])
          .default(true),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const exists = await ctx.db.prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } });
      if (!exists) notFound('runId', `run ${input.runId}`);
      const afterSeq = input.lastEventId ? Number(input.lastEventId) : 0;
      for await (const m of tailRun(ctx, {
        runId: input.runId,
        afterSeq,
        behind: input.behind,
        items: input.items,
        signal,
      })) {
        yield tracked(String(m.seq), m);
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
