// One run as a matrix: a row per prompt, a column per model and repeat, a cell per item. Searched,
// filtered, sorted and paged in the database, so a 100,000-item run costs one page of rows a call.
import { Prisma, type PrismaClient } from '@batchlight/db';
import { NotFoundError } from '../errors.js';
import type { ItemStatus } from '../events/types.js';
import { promptText } from '../run/prompts.js';
import { PREVIEW_CHARS } from '../run/records.js';
import type { MatrixCellField, MatrixRowField } from './matrix-fields.js';

export interface MatrixQuery {
  /** Rows whose prompt, or an output of one of their cells, contains this (any case). */
  search?: string;
  /** Rows with at least one cell (of `modelId`, when given) in this status. */
  status?: ItemStatus;
  /** Only this model's cells count for `status` and `search`. */
  modelId?: string;
  /** A row field, or a cell field of one column (`column` = modelId:repeatIndex). */
  sort?: { field: MatrixRowField } | { field: MatrixCellField; column: string };
  dir?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

export interface MatrixColumn {
  /** `modelId:repeatIndex`: the key of the column's cells. */
  key: string;
  modelId: string;
  modelName: string;
  repeatIndex: number;
}

export interface MatrixCell {
  itemId: string;
  status: string;
  attempts: number;
  traceId: string | null;
  output: string | null;
  latencyMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  attribution: string | null;
  errorType: string | null;
  httpStatus: number | null;
  /** The item's scores, by scorer name; empty while unscored and for a failed call. */
  scores: MatrixScore[];
}

export interface MatrixScore {
  scorer: string;
  /** pass | fail | error */
  status: string;
  score: number | null;
  reason: string;
}

export interface MatrixRow {
  promptIndex: number;
  /** The prompt's text (chat messages joined), cut to PROMPT_CHARS. */
  prompt: string;
  expected: string | null;
  metadata: unknown;
  cells: Record<string, MatrixCell | null>;
}

export interface MatrixPage {
  columns: MatrixColumn[];
  /** Rows of the run (prompts). */
  rowsTotal: number;
  /** Rows that pass the search and filters. */
  matching: number;
  offset: number;
  rows: MatrixRow[];
}

const PROMPT_CHARS = 500;

type Int = number | bigint;
interface CellRow {
  itemId: string;
  modelId: string;
  promptIndex: Int;
  repeatIndex: Int;
  status: string;
  attempts: Int;
  traceId: string | null;
  traceStatus: string | null;
  latencyMs: number | null;
  inputTokens: Int | null;
  outputTokens: Int | null;
  costUsd: number | null;
  attribution: string | null;
  errorType: string | null;
  httpStatus: Int | null;
  output: string | null;
}
export const MATRIX_MAX_LIMIT = 500;

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const CELL_ORDER: Record<MatrixCellField, Prisma.Sql> = {
  status: Prisma.sql`s."status"`,
  latency: Prisma.sql`t."latencyMs"`,
  tokens: Prisma.sql`(COALESCE(t."inputTokens", 0) + COALESCE(t."outputTokens", 0))`,
  cost: Prisma.sql`t."costUsd"`,
  output: Prisma.sql`SUBSTR(t."output", 1, 200)`,
};
const ROW_ORDER: Record<MatrixRowField, Prisma.Sql> = {
  index: Prisma.sql`p."index"`,
  prompt: Prisma.sql`SUBSTR(CAST(p."input" AS TEXT), 1, 200)`,
  expected: Prisma.sql`p."expected"`,
};

export async function runMatrix(prisma: PrismaClient, runId: string, query: MatrixQuery = {}): Promise<MatrixPage> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    include: { models: { orderBy: { position: 'asc' }, select: { modelId: true, name: true } } },
  });
  if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
  const columns: MatrixColumn[] = run.models.flatMap((m) =>
    Array.from({ length: run.repeats }, (_, r) => ({
      key: `${m.modelId}:${r}`,
      modelId: m.modelId,
      modelName: m.name,
      repeatIndex: r,
    })),
  );
  // Items were made for prompts 0..n-1, one per column.
  const rowsTotal = columns.length ? Math.round(run.totalItems / columns.length) : 0;
  const offset = Math.max(0, query.offset ?? 0);
  const limit = Math.min(MATRIX_MAX_LIMIT, Math.max(1, query.limit ?? 100));
  const model = query.modelId ? Prisma.sql`AND i."modelId" = ${query.modelId}` : Prisma.empty;

  const where: Prisma.Sql[] = [Prisma.sql`p."promptSetId" = ${run.promptSetId}`, Prisma.sql`p."index" < ${rowsTotal}`];
  if (query.status)
    where.push(
      Prisma.sql`p."index" IN (SELECT i."promptIndex" FROM "RunItem" i WHERE i."runId" = ${runId} AND i."status" = ${query.status} ${model})`,
    );
  const search = query.search?.trim();
  if (search) {
    const like = likePattern(search);
    where.push(Prisma.sql`(LOWER(CAST(p."input" AS TEXT)) LIKE ${like} ESCAPE '\\' OR p."index" IN (
      SELECT i."promptIndex" FROM "RunItem" i JOIN "Trace" o ON o."id" = i."finalTraceId"
      WHERE i."runId" = ${runId} ${model} AND LOWER(o."output") LIKE ${like} ESCAPE '\\'))`);
  }
  const whereSql = Prisma.join(where, ' AND ');

  let order = ROW_ORDER.index;
  const sort = query.sort;
  if (sort && 'column' in sort) {
    const col = columns.find((c) => c.key === sort.column);
    if (!col) throw new NotFoundError('sort.column', `column ${sort.column} is not one of this run's`);
    // A correlated lookup through the item's unique key, not a join: PostgreSQL, before it has
    // analysed a freshly written run, plans that join as a nested loop over every pair of rows.
    order = Prisma.sql`(SELECT ${CELL_ORDER[sort.field]} FROM "RunItem" s LEFT JOIN "Trace" t ON t."id" = s."finalTraceId"
      WHERE s."runId" = ${runId} AND s."modelId" = ${col.modelId} AND s."promptIndex" = p."index"
        AND s."repeatIndex" = ${col.repeatIndex})`;
  } else if (sort) order = ROW_ORDER[sort.field];
  const dir = query.dir === 'desc' ? Prisma.raw('DESC') : Prisma.raw('ASC');

  const [counted, page] = await Promise.all([
    prisma.$queryRaw<Array<{ n: number | bigint }>>(Prisma.sql`SELECT COUNT(*) AS n FROM "Prompt" p WHERE ${whereSql}`),
    prisma.$queryRaw<Array<{ idx: number | bigint }>>(
      Prisma.sql`SELECT p."index" AS idx FROM "Prompt" p WHERE ${whereSql}
        ORDER BY ${order} ${dir} NULLS LAST, p."index" ASC LIMIT ${limit} OFFSET ${offset}`,
    ),
  ]);
  const indexes = page.map((r) => Number(r.idx));
  const [prompts, items, scores] = indexes.length
    ? await Promise.all([
        prisma.prompt.findMany({
          where: { promptSetId: run.promptSetId, index: { in: indexes } },
          select: { index: true, input: true, expected: true, metadata: true },
        }),
        // Raw for SUBSTR: an output may be megabytes, a cell shows its start.
        prisma.$queryRaw<CellRow[]>(Prisma.sql`
          SELECT i."id" AS "itemId", i."modelId", i."promptIndex", i."repeatIndex", i."status", i."attempts",
            t."id" AS "traceId", t."status" AS "traceStatus", t."latencyMs", t."inputTokens", t."outputTokens",
            t."costUsd", t."attribution", t."errorType", t."httpStatus",
            SUBSTR(CASE WHEN t."status" = 'ok' THEN t."output" ELSE t."errorMessage" END, 1, ${PREVIEW_CHARS}) AS "output"
          FROM "RunItem" i LEFT JOIN "Trace" t ON t."id" = i."finalTraceId"
          WHERE i."runId" = ${runId} AND i."modelId" IN (${Prisma.join(run.models.map((m) => m.modelId))})
            AND i."promptIndex" IN (${Prisma.join(indexes)})`),
        // Through the item's run and prompt, so one page's scores are one query whatever the columns.
        prisma.score.findMany({
          where: { runId, item: { promptIndex: { in: indexes } } },
          select: { itemId: true, scorer: true, status: true, score: true, reason: true },
          orderBy: { scorer: 'asc' },
        }),
      ])
    : [[], [], []];
  const scoresOf = new Map<string, MatrixScore[]>();
  for (const { itemId, ...score } of scores) {
    const list = scoresOf.get(itemId);
    if (list) list.push(score);
    else scoresOf.set(itemId, [score]);
  }
  const promptOf = new Map(prompts.map((p) => [p.index, p]));
  const rows = new Map<number, MatrixRow>(
    indexes.map((index) => {
      const p = promptOf.get(index);
      return [
        index,
        {
          promptIndex: index,
          prompt: p ? promptText(p.input).slice(0, PROMPT_CHARS) : '',
          expected: p?.expected ?? null,
          metadata: p?.metadata ?? null,
          cells: Object.fromEntries(columns.map((c) => [c.key, null])),
        },
      ];
    }),
  );
  const num = (v: number | bigint | null) => (v == null ? null : Number(v));
  for (const i of items) {
    rows.get(Number(i.promptIndex))!.cells[`${i.modelId}:${Number(i.repeatIndex)}`] = {
      itemId: i.itemId,
      status: i.status,
      attempts: Number(i.attempts),
      traceId: i.traceId,
      output: i.output,
      latencyMs: num(i.latencyMs),
      inputTokens: num(i.inputTokens),
      outputTokens: num(i.outputTokens),
      costUsd: num(i.costUsd),
      attribution: i.traceStatus === 'ok' ? i.attribution : null,
      errorType: i.errorType,
      httpStatus: num(i.httpStatus),
      scores: scoresOf.get(i.itemId) ?? [],
    };
  }
  return { columns, rowsTotal, matching: Number(counted[0]?.n ?? 0), offset, rows: [...rows.values()] };
}
