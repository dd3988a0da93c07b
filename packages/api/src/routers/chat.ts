import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { chatMessage, id } from '../schemas.js';
import { publicProcedure } from '../trpc.js';

export const chatRouter = {
  /** One call through the same path a run uses; recorded as a trace and messages. */
  send: publicProcedure
    .input(
      z.object({
        modelId: id,
        messages: z.array(chatMessage).min(1, 'send at least one message').max(500),
        conversationId: id.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { conversationId, traceId, outcome: o } = await ctx.engine.chat(input);
      // Built field by field: the outcome's model carries the credential, which never leaves.
      const base = {
        conversationId,
        traceId,
        modelId: o.model.modelId,
        provider: o.model.provider,
        requestedModel: o.requestedModel,
        latencyMs: o.latencyMs,
        ttftMs: o.ttftMs,
      };
      return o.ok
        ? {
            ...base,
            ok: true as const,
            output: o.output,
            responseModel: o.responseModel,
            attribution: o.attribution,
            usage: { inputTokens: o.usage.inputTokens, outputTokens: o.usage.outputTokens },
            costUsd: o.cost.usd,
          }
        : { ...base, ok: false as const, error: o.error };
    }),
} satisfies TRPCRouterRecord;
