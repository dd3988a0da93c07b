export { attributionOf } from './attribution.js';
export type { LlmClientOptions } from './client.js';
export { createLlmClient } from './client.js';
export { computeCost } from './cost.js';
export { DEFAULT_TIMEOUT_MS } from './defaults.js';
export type { ClassifyContext } from './errors.js';
export {
  classifyError,
  failureCause,
  InvalidResponseError,
  parseRetryAfter,
  redact,
  TruncatedStreamError,
  typeForStatus,
} from './errors.js';
export {
  announcedLimits,
  createLimitStore,
  DEFAULT_LIMIT_KEY_PREFIX,
  keyFingerprint,
  type LimitKey,
  type LimitStoreOptions,
  limitKeyOf,
  parseResetDuration,
  RateLimits,
  UNSET_KEY_CONCURRENCY,
} from './limits/index.js';
export { freezeModel, resolveApiKey } from './model.js';
export {
  CallPolicy,
  type CallPolicySpec,
  CREDENTIAL_ENV_PREFIX,
  DEFAULT_CREDENTIAL_ENVS,
  DEFAULT_PROVIDER_HOSTS,
  endpointOf,
  isDeniedCredentialEnv,
  parseHostEntry,
} from './policy.js';
export { estimateTokens, mulberry32, simulatedText } from './providers/simulated.js';
export type { BackoffOptions } from './retry.js';
export { backoffMs, MAX_RETRY_AFTER_MS, RETRYABLE, retryPolicy, shouldRetry } from './retry.js';
export { SECRET_PIECE, SecretScrubber, scrubberFor, storableText } from './scrub.js';
export { createThreadedLlmClient, type ThreadedLlmClient } from './threaded.js';
export * from './types.js';
