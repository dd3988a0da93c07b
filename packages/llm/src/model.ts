import { createHash } from 'node:crypto';
import type { Credential, ResolvedModel } from './types.js';

/**
 * Deep-freeze a resolved model: the object, its params (and params.simulation), pricing and
 * credential. A `secret` credential's `value` is made non-enumerable first, so the key stays
 * readable (`model.credential.value`) but never appears when a model, an outcome or a record
 * built from them is serialised (JSON.stringify, object spread, console.log). Returns `m`.
 */
export function freezeModel(m: ResolvedModel): ResolvedModel {
  const cred = m.credential as { kind: string; value?: unknown };
  if (cred && cred.kind === 'secret' && !Object.isFrozen(cred)) {
    const d = Object.getOwnPropertyDescriptor(cred, 'value');
    if (d?.enumerable && d.configurable) {
      Object.defineProperty(cred, 'value', { value: d.value, enumerable: false, writable: false, configurable: false });
    }
  }
  const params = m.params as { simulation?: object };
  if (params?.simulation && typeof params.simulation === 'object') {
    const sim = params.simulation as { latencyMs?: unknown; outputTokens?: unknown };
    if (sim.latencyMs && typeof sim.latencyMs === 'object') Object.freeze(sim.latencyMs);
    if (sim.outputTokens && typeof sim.outputTokens === 'object') Object.freeze(sim.outputTokens);
    Object.freeze(params.simulation);
  }
  Object.freeze(m.params);
  Object.freeze(m.pricing);
  Object.freeze(m.credential);
  if (m.rateLimits) Object.freeze(m.rateLimits);
  return Object.freeze(m);
}

/**
 * The API key for a credential: `env` reads `process.env[name]` at call time, `secret` returns
 * the (already decrypted) value, `none` → undefined. The value must never be logged or returned.
 */
export function resolveApiKey(credential: Readonly<Credential> | null | undefined): string | undefined {
  if (!credential) return undefined;
  switch (credential.kind) {
    case 'env': {
      const v = process.env[credential.name];
      return v && v.length > 0 ? v : undefined;
    }
    case 'secret':
      return credential.value && credential.value.length > 0 ? credential.value : undefined;
    default:
      return undefined;
  }
}

/** sha256 of a key, for cache keys: the key itself never appears in a map key. */
export function keyHash(key: string | undefined): string {
  return key ? createHash('sha256').update(key).digest('hex') : '-';
}
