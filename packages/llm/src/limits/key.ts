// Which limiter a call counts against: one per provider credential. A provider limits a key
// (per base URL), whatever the model or the run, so every run calling with that key shares it.
import { createHash } from 'node:crypto';
import type { ResolvedModel } from '../types.js';

export interface LimitKey {
  /** provider + base URL + key fingerprint: the limiter's name, locally and on Redis. */
  id: string;
  /** What users see: provider, host and fingerprint ("openai api.openai.com #3f9a1c2e"). */
  label: string;
}

/** The first 8 hex digits of the key's sha256: tells keys apart, and cannot be turned back into one. */
export function keyFingerprint(apiKey: string | undefined): string {
  return apiKey ? createHash('sha256').update(apiKey).digest('hex').slice(0, 8) : 'nokey';
}

function hostOf(baseUrl: string | null, provider: string): string {
  if (!baseUrl) return provider === 'huggingface' ? 'router.huggingface.co' : 'api.openai.com';
  try {
    return new URL(baseUrl).host;
  } catch {
    return baseUrl;
  }
}

export function limitKeyOf(model: Pick<ResolvedModel, 'provider' | 'baseUrl'>, apiKey: string | undefined): LimitKey {
  const fp = keyFingerprint(apiKey);
  const base = (model.baseUrl ?? '').replace(/\/+$/, '');
  return {
    id: `${model.provider}|${base}|${fp}`,
    label: `${model.provider} ${hostOf(model.baseUrl, model.provider)} #${fp}`,
  };
}
