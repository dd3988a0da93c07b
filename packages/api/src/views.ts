// What the API shows of stored rows. Allow-lists, so a new credential column can never leak.
import type { Model, RunModel } from '@batchlight/db';

export function modelView(m: Model) {
  return {
    id: m.id,
    name: m.name,
    provider: m.provider as 'openai' | 'huggingface' | 'simulated',
    providerModel: m.providerModel,
    baseUrl: m.baseUrl,
    /** Masked: "$OPENAI_API_KEY" for an env var, "sk-…a1b2" for a stored key, null for none. */
    credentialHint: m.credentialHint,
    params: m.params as Record<string, unknown>,
    pricing: {
      inputPerMTok: m.inputPricePerMTok,
      outputPerMTok: m.outputPricePerMTok,
      cachedInputPerMTok: m.cachedInputPricePerMTok,
    },
    rateLimits: {
      requestsPerMinute: m.rateLimitRequestsPerMinute,
      tokensPerMinute: m.rateLimitTokensPerMinute,
      concurrency: m.rateLimitConcurrency,
    },
    revision: m.revision,
    archivedAt: m.archivedAt,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}
export type ModelView = ReturnType<typeof modelView>;

export function runModelView(m: RunModel) {
  return {
    modelId: m.modelId,
    position: m.position,
    name: m.name,
    provider: m.provider,
    providerModel: m.providerModel,
    baseUrl: m.baseUrl,
    params: m.params as Record<string, unknown>,
    pricing: {
      inputPerMTok: m.inputPricePerMTok,
      outputPerMTok: m.outputPricePerMTok,
      cachedInputPerMTok: m.cachedInputPricePerMTok,
    },
    rateLimits: {
      requestsPerMinute: m.rateLimitRequestsPerMinute,
      tokensPerMinute: m.rateLimitTokensPerMinute,
      concurrency: m.rateLimitConcurrency,
    },
    modelRevision: m.modelRevision,
  };
}
