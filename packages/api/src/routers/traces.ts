import { PREVIEW_CHARS } from '@batchlight/engine';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { cursor, id, limit, traceStatus } from '../schemas.js';
import { notFound, publicProcedure } from '../trpc.js';

export const tracesRouter = {
  list: publicProcedure
    .input(
      z.object({
        runId: id.optional(),
        /** Every attempt of one item, oldest first. */
        itemId: id.optional(),
        modelId: id.optional(),
        status: traceStatus.optional(),
        cursor,
        limit: limit(1000, 100),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.prisma.trace.findMany({
        where: {
          ...(input.runId ? { runId: input.runId } : {}),
          ...(input.itemId ? { itemId: input.itemId } : {}),
          ...(input.modelId ? { modelId: input.modelId } : {}),
          ...(input.status ? { status: input.status } : {}),
          ...(input.cursor ? { id: { gt: input.cursor } } : {}),
        },
        orderBy: { id: 'asc' },
        take: input.limit,
        omit: { input: true, rawUsage: true },
        include: { item: { select: { promptIndex: true, repeatIndex: true } } },
      });
      return {
        traces: rows.map(({ output, ...t }) => ({ ...t, outputPreview: output?.slice(0, PREVIEW_CHARS) ?? null })),
        nextCursor: rows.length === input.limit ? rows[rows.length - 1]!.id : null,
      };
    }),

  /** One call in full: input, output, timings, usage, error, requested vs reported model. */
  get: publicProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const t = await ctx.db.prisma.trace.findUnique({
      where: { id: input.id },
      include: {
        model: { select: { name: true } },
        message: { select: { id: true, conversationId: true } },
        item: { select: { id: true, promptIndex: true, repeatIndex: true, status: true, attempts: true } },
      },
    });
    if (!t) notFound('id', `trace ${input.id}`);
    const snapshot = t.runId
      ? await ctx.db.prisma.runModel.findUnique({
          where: { runId_modelId: { runId: t.runId, modelId: t.modelId } },
          select: { name: true, providerModel: true },
        })
      : null;
    const { model, ...trace } = t;
    return {
      ...trace,
      modelName: snapshot?.name ?? model.name,
      snapshotProviderModel: snapshot?.providerModel ?? null,
    };
  }),
} satisfies TRPCRouterRecord;
