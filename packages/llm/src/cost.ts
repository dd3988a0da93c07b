import type { Cost, Pricing, Usage } from './types.js';

function price(p: number | null | undefined): number | null {
  return typeof p === 'number' && Number.isFinite(p) && p >= 0 ? p : null;
}

/**
 * Cost of one call.
 *  - A provider-reported cost (OpenRouter's `usage.cost`) wins: source `provider`.
 *  - Else from pricing (USD per million tokens): cached input tokens are a subset of the input
 *    tokens and are billed at `cachedInputPerMTok` when set, else at `inputPerMTok`; output
 *    tokens (which include reasoning tokens) at `outputPerMTok`. Source `pricing`.
 *  - A token count that is unknown, or a price that is needed (its tokens > 0) but missing,
 *    makes the cost unknown: `{ usd: null, source: 'unknown' }`.
 */
export function computeCost(usage: Usage, pricing: Pricing, providerCostUsd?: number | null): Cost {
  if (typeof providerCostUsd === 'number' && Number.isFinite(providerCostUsd) && providerCostUsd >= 0) {
    return { usd: providerCostUsd, source: 'provider' };
  }
  const unknown: Cost = { usd: null, source: 'unknown' };
  const input = usage.inputTokens;
  const output = usage.outputTokens;
  if (input == null || output == null) return unknown;
  const cached = Math.min(Math.max(usage.cachedInputTokens ?? 0, 0), input);
  const inPrice = price(pricing.inputPerMTok);
  const outPrice = price(pricing.outputPerMTok);
  const cachedPrice = price(pricing.cachedInputPerMTok) ?? inPrice;
  const uncached = input - cached;
  if (uncached > 0 && inPrice == null) return unknown;
  if (cached > 0 && cachedPrice == null) return unknown;
  if (output > 0 && outPrice == null) return unknown;
  const usd = (uncached * (inPrice ?? 0) + cached * (cachedPrice ?? 0) + output * (outPrice ?? 0)) / 1_000_000;
  return { usd, source: 'pricing' };
}
