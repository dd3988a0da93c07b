import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import type { Prisma } from '@batchlight/db';
import { encryptSecret, maskSecret } from '@batchlight/engine';
import { randomUUID } from 'node:crypto';
import { id, modelFields } from '../schemas.js';
import { idempotent, requestId } from '../idempotency.js';
import { badRequest, notFound, publicProcedure } from '../trpc.js';
import { modelView } from '../views.js';
import type { Context } from '../context.js';

type ModelFields = z.infer<typeof modelFields>;

/** Columns for the credential fields of an input; the key is encrypted, only a hint is kept. */
function credentialColumns(input: Partial<ModelFields>, ctx: Context) {
  if (input.apiKey) {
    if (!ctx.secretKey) badRequest('apiKey', 'storing a key needs BATCHLIGHT_SECRET_KEY set on the server; or name an environment variable in credentialEnv');
    return { credentialCipher: encryptSecret(input.apiKey, ctx.secretKey), credentialEnv: null, credentialHint: maskSecret(input.apiKey) };
  }
  if (input.credentialEnv) return { credentialEnv: input.credentialEnv, credentialCipher: null, credentialHint: `$${input.credentialEnv}` };
  if (input.apiKey === null || input.credentialEnv === null) return { credentialEnv: null, credentialCipher: null, credentialHint: null };
  return {};
}

async function uniqueName(ctx: Context, name: string, exceptId?: string) {
  const other = await ctx.db.prisma.model.findUnique({ where: { name } });
  if (other && other.id !== exceptId) throw new TRPCError({ code: 'CONFLICT', message: `name: a model named "${name}" exists already`, cause: Object.assign(new Error(`a model named "${name}" exists already`), { field: 'name' }) });
}

export const modelsRouter = {
  list: publicProcedure
    .input(z.object({ includeArchived: z.boolean().default(false) }).default({ includeArchived: false }))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.prisma.model.findMany({
        where: input.includeArchived ? {} : { archivedAt: null },
        orderBy: { name: 'asc' },
      });
      return rows.map(modelView);
    }),

  get: publicProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const m = await ctx.db.prisma.model.findUnique({ where: { id: input.id } });
    return m ? modelView(m) : notFound(`model ${input.id}`);
  }),

  create: publicProcedure.input(modelFields.extend({ requestId })).mutation(({ ctx, input }) =>
    idempotent(
      ctx, 'models.create', input,
      async (claim) => {
        await uniqueName(ctx, input.name);
        const id = randomUUID();
        const m = await ctx.db.prisma.$transaction(async (tx) => {
          await claim(tx, id);
          return tx.model.create({
            data: {
              id,
              name: input.name,
              provider: input.provider,
              providerModel: input.providerModel,
              baseUrl: input.baseUrl ?? null,
              params: input.params as Prisma.InputJsonValue,
              inputPricePerMTok: input.pricing.inputPerMTok ?? null,
              outputPricePerMTok: input.pricing.outputPerMTok ?? null,
              cachedInputPricePerMTok: input.pricing.cachedInputPerMTok ?? null,
              ...credentialColumns(input, ctx),
            },
          });
        });
        return modelView(m);
      },
      async (id) => {
        const m = await ctx.db.prisma.model.findUnique({ where: { id } });
        return m ? modelView(m) : null;
      },
    ),
  ),

  /** Every change bumps `revision`; runs already created keep their snapshot. */
  update: publicProcedure
    .input(modelFields.partial().extend({ id }))
    .mutation(async ({ ctx, input }) => {
      const current = await ctx.db.prisma.model.findUnique({ where: { id: input.id } });
      if (!current) notFound(`model ${input.id}`);
        if (input.name) await uniqueName(ctx, input.name, input.id);
      const m = await ctx.db.prisma.model.update({
        where: { id: input.id },
        data: {
          name: input.name,
          provider: input.provider,
          providerModel: input.providerModel,
          baseUrl: input.baseUrl,
          params: input.params as Prisma.InputJsonValue | undefined,
          ...(input.pricing
            ? {
                inputPricePerMTok: input.pricing.inputPerMTok ?? null,
                outputPricePerMTok: input.pricing.outputPerMTok ?? null,
                cachedInputPricePerMTok: input.pricing.cachedInputPerMTok ?? null,
              }
            : {}),
          ...credentialColumns(input, ctx),
          revision: { increment: 1 },
        },
      });
      return modelView(m);
    }),

  archive: publicProcedure
    .input(z.object({ id, archived: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => {
      const current = await ctx.db.prisma.model.findUnique({ where: { id: input.id } });
      if (!current) notFound(`model ${input.id}`);
      const m = await ctx.db.prisma.model.update({
        where: { id: input.id },
        data: { archivedAt: input.archived ? new Date() : null, revision: { increment: 1 } },
      });
      return modelView(m);
    }),

  /** Sends one short prompt; nothing is recorded. */
  test: publicProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    return ctx.engine.testModel(input.id);
  }),
} satisfies TRPCRouterRecord;
