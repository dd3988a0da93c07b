// Turns a RunModel snapshot (or, for chat, a registry row) into the one frozen ResolvedModel that
// every record of a call is built from.
import type { Model, RunModel } from '@batchlight/db';
import { type Credential, freezeModel, type ModelParams, type Provider, type ResolvedModel } from '@batchlight/llm';
import { decryptSecret } from './secrets.js';

type ModelColumns = Pick<
  Model,
  | 'provider'
  | 'providerModel'
  | 'baseUrl'
  | 'credentialEnv'
  | 'credentialCipher'
  | 'params'
  | 'inputPricePerMTok'
  | 'outputPricePerMTok'
  | 'cachedInputPricePerMTok'
  | 'rateLimitRequestsPerMinute'
  | 'rateLimitTokensPerMinute'
  | 'rateLimitConcurrency'
>;

function credentialOf(
  row: Pick<Model, 'credentialEnv' | 'credentialCipher'>,
  secretKey: string | undefined,
): Credential {
  if (row.credentialCipher) {
    if (!secretKey) throw new Error('this model has a stored key but BATCHLIGHT_SECRET_KEY is not set');
    return { kind: 'secret', value: decryptSecret(row.credentialCipher, secretKey) };
  }
  if (row.credentialEnv) return { kind: 'env', name: row.credentialEnv };
  return { kind: 'none' };
}

function resolve(
  ids: { modelId: string; name: string; revision: number },
  row: ModelColumns,
  secretKey: string | undefined,
): ResolvedModel {
  return freezeModel({
    modelId: ids.modelId,
    name: ids.name,
    revision: ids.revision,
    provider: row.provider as Provider,
    providerModel: row.providerModel,
    baseUrl: row.baseUrl,
    params: (row.params ?? {}) as ModelParams,
    pricing: {
      inputPerMTok: row.inputPricePerMTok,
      outputPerMTok: row.outputPricePerMTok,
      cachedInputPerMTok: row.cachedInputPricePerMTok,
    },
    credential: credentialOf(row, secretKey),
    rateLimits: {
      requestsPerMinute: row.rateLimitRequestsPerMinute,
      tokensPerMinute: row.rateLimitTokensPerMinute,
      concurrency: row.rateLimitConcurrency,
    },
  });
}

export function resolveSnapshot(snapshot: RunModel, secretKey?: string): ResolvedModel {
  return resolve(
    { modelId: snapshot.modelId, name: snapshot.name, revision: snapshot.modelRevision },
    snapshot,
    secretKey,
  );
}

export function resolveRegistryModel(model: Model, secretKey?: string): ResolvedModel {
  return resolve({ modelId: model.id, name: model.name, revision: model.revision }, model, secretKey);
}

/** The columns a run copies from the registry when it is created. */
export function snapshotOf(model: Model, runId: string, position: number) {
  return {
    runId,
    modelId: model.id,
    position,
    name: model.name,
    provider: model.provider,
    providerModel: model.providerModel,
    baseUrl: model.baseUrl,
    credentialEnv: model.credentialEnv,
    credentialCipher: model.credentialCipher,
    params: model.params ?? {},
    inputPricePerMTok: model.inputPricePerMTok,
    outputPricePerMTok: model.outputPricePerMTok,
    cachedInputPricePerMTok: model.cachedInputPricePerMTok,
    rateLimitRequestsPerMinute: model.rateLimitRequestsPerMinute,
    rateLimitTokensPerMinute: model.rateLimitTokensPerMinute,
    rateLimitConcurrency: model.rateLimitConcurrency,
    modelRevision: model.revision,
  };
}
