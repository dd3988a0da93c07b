import { randomUUID } from 'node:crypto';
import type { Model, Prisma } from '@batchlight/db';
import { encryptSecret, maskSecret } from '@batchlight/engine';
import type { Provider } from '@batchlight/llm';
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import type { Context } from '../context.js';
import { idempotent } from '../idempotency.js';
import { id, modelFields, requestId } from '../schemas.js';
import { badRequest, notFound, publicProcedure } from '../trpc.js';
import { modelView } from '../views.js';

/**
 * An update's fields, each optional and none defaulted: zod 4 applies a default inside `.partial()`, so
 * `modelFields.partial()` turned an update that left out params or pricing into one that cleared them.
 * Built here, not in schemas.ts: the browser loads that module, and this schema is the server's.
 */
const modelUpdateFields = modelFields
  .extend({
    params: modelFields.shape.params.unwrap(),
    pricing: modelFields.shape.pricing.unwrap(),
    rateLimits: modelFields.shape.rateLimits.unwrap(),
  })
  .partial();

type ModelFields = z.infer<typeof modelFields>;

/** Columns of a model's key limits: each given one replaces the stored one, unset ones are cleared. */
function rateLimitColumns(limits: ModelFields['rateLimits']) {
  return {
    rateLimitRequestsPerMinute: limits.requestsPerMinute ?? null,
    rateLimitTokensPerMinute: limits.tokensPerMinute ?? null,
    rateLimitConcurrency: limits.concurrency ?? null,
  };
}

/** Columns for the credential fields of an input; the key is encrypted, only a hint is kept. */
function credentialColumns(input: Partial<ModelFields>, ctx: Context) {
  if (input.apiKey) {
    if (!ctx.secretKey)
      badRequest(
        'apiKey',
        'storing a key needs BATCHLIGHT_SECRET_KEY set on the server; or name an environment variable in credentialEnv',
      );
    return {
      credentialCipher: encryptSecret(input.apiKey, ctx.secretKey),
      credentialEnv: null,
      credentialHint: maskSecret(input.apiKey),
    };
  }
  if (input.credentialEnv) {
    const problem = ctx.policy.credentialEnvProblem(input.credentialEnv);
    if (problem) badRequest('credentialEnv', problem);
    return { credentialEnv: input.credentialEnv, credentialCipher: null, credentialHint: `$${input.credentialEnv}` };
  }
  if (input.apiKey === null || input.credentialEnv === null)
    return { credentialEnv: null, credentialCipher: null, credentialHint: null };
  return {};
}

/** The model calls a host the server lets models call, and its simulator asks no more than the server allows. */
function checkTarget(ctx: Context, provider: string, baseUrl: string | null, params?: ModelFields['params']) {
  const problem = ctx.policy.hostProblem(provider as Provider, baseUrl);
  if (problem) badRequest('baseUrl', problem);
  const sim = params?.simulation;
  const { simOutputTokens, simLatencyMs } = ctx.limits;
  if (sim?.outputTokens && sim.outputTokens.max > simOutputTokens) {
    badRequest(
      'params.simulation.outputTokens.max',
      `must be at most ${simOutputTokens} (BATCHLIGHT_SIM_MAX_OUTPUT_TOKENS)`,
    );
  }
  const latencies = typeof sim?.latencyMs === 'object' ? [sim.latencyMs.p50, sim.latencyMs.p95] : [sim?.latencyMs ?? 0];
  if (latencies.some((ms) => ms > simLatencyMs)) {
    badRequest('params.simulation.latencyMs', `must be at most ${simLatencyMs} ms (BATCHLIGHT_SIM_MAX_LATENCY_MS)`);
  }
}

/**
 * A model that holds a key (stored, or a variable's) may be pointed at another place only by
 * whoever gives its key again in the same call: otherwise anyone allowed to edit models could
 * send the key to a host of their choice.
 */
function checkRepoint(current: Model, input: Partial<ModelFields>) {
  const movesUrl = input.baseUrl !== undefined && (input.baseUrl ?? null) !== current.baseUrl;
  const moves = movesUrl || (input.provider !== undefined && input.provider !== current.provider);
  const holdsKey = current.credentialCipher || current.credentialEnv;
  const keyGiven = input.apiKey !== undefined || input.credentialEnv !== undefined;
  if (moves && holdsKey && !keyGiven) {
    const field = current.credentialCipher ? 'apiKey' : 'credentialEnv';
    badRequest(
      field,
      'changing baseUrl or provider of a model that holds a key needs the key again in the same call ' +
        '(apiKey or credentialEnv), or null to drop it',
    );
  }
}

async function uniqueName(ctx: Context, name: string, exceptId?: string) {
  const other = await ctx.db.prisma.model.findUnique({ where: { name } });
  if (other && other.id !== exceptId)
    throw new TRPCError({
      code: 'CONFLICT',
      message: `name: a model named "${name}" exists already`,
      cause: Object.assign(new Error(`a model named "${name}" exists already`), { field: 'name' }),
    });
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
    return m ? modelView(m) : notFound('id', `model ${input.id}`);
  }),

  create: publicProcedure.input(modelFields.extend({ requestId })).mutation(({ ctx, input }) =>
    idempotent(
      ctx,
      'models.create',
      input,
      async (claim) => {
        checkTarget(ctx, input.provider, input.baseUrl ?? null, input.params);
        const credential = credentialColumns(input, ctx);
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
              ...rateLimitColumns(input.rateLimits),
              ...credential,
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
  update: publicProcedure.input(modelUpdateFields.extend({ id })).mutation(async ({ ctx, input }) => {
    const current = await ctx.db.prisma.model.findUnique({ where: { id: input.id } });
    if (!current) notFound('id', `model ${input.id}`);
    checkRepoint(current, input);
    const baseUrl = input.baseUrl !== undefined ? input.baseUrl : current.baseUrl;
    checkTarget(ctx, input.provider ?? current.provider, baseUrl, input.params);
    const credential = credentialColumns(input, ctx);
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
        ...(input.rateLimits ? rateLimitColumns(input.rateLimits) : {}),
        ...credential,
        revision: { increment: 1 },
      },
    });
    return modelView(m);
  }),

  archive: publicProcedure
    .input(z.object({ id, archived: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => {
      const current = await ctx.db.prisma.model.findUnique({ where: { id: input.id } });
      if (!current) notFound('id', `model ${input.id}`);
      const m = await ctx.db.prisma.model.update({
        where: { id: input.id },
        data: { archivedAt: input.archived ? new Date() : null, revision: { increment: 1 } },
      });
      return modelView(m);
    }),

  /** Sends one short prompt; nothing is recorded. */
  test: publicProcedure
    .meta({ fields: { modelId: 'id' } })
    .input(z.object({ id }))
    .mutation(async ({ ctx, input }) => ctx.engine.testModel(input.id)),
} satisfies TRPCRouterRecord;
