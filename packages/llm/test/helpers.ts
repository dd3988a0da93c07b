import { freezeModel, type ResolvedModel } from '../src/index.js';

let n = 0;
export function makeModel(
  over: Partial<ResolvedModel> & Pick<ResolvedModel, 'provider' | 'providerModel'>,
): ResolvedModel {
  n++;
  return freezeModel({
    modelId: over.modelId ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    name: over.name ?? `${over.provider}:${over.providerModel}`,
    revision: over.revision ?? 1,
    baseUrl: over.baseUrl ?? null,
    params: over.params ?? {},
    pricing: over.pricing ?? { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.5 },
    credential: over.credential ?? { kind: 'secret', value: 'sk-test-key-123456' },
    provider: over.provider,
    providerModel: over.providerModel,
    ...(over.rateLimits ? { rateLimits: over.rateLimits } : {}),
  });
}

export const user = (content: string) => [{ role: 'user' as const, content }];
