export * from './types.js';
export { createLlmClient, DEFAULT_TIMEOUT_MS } from './client.js';
export { createThreadedLlmClient, type ThreadedLlmClient } from './threaded.js';
export type { LlmClientOptions } from './client.js';
export { attributionOf } from './attribution.js';
export { computeCost } from './cost.js';
export { retryPolicy, shouldRetry, backoffMs, RETRYABLE, MAX_RETRY_AFTER_MS } from './retry.js';
export type { BackoffOptions } from './retry.js';
export {
  classifyError,
  parseRetryAfter,
  redact,
  typeForStatus,
  InvalidResponseError,
  TruncatedStreamError,
} from './errors.js';
export type { ClassifyContext } from './errors.js';
export { freezeModel, resolveApiKey } from './model.js';
export { CallPolicy, CREDENTIAL_ENV_PREFIX, DEFAULT_CREDENTIAL_ENVS, DEFAULT_PROVIDER_HOSTS } from './policy.js';
export { isDeniedCredentialEnv, parseHostEntry, type CallPolicySpec } from './policy.js';
export { SecretScrubber, scrubberFor, storableText, SECRET_PIECE } from './scrub.js';
export { Pacer } from './pacer.js';
export { simulatedText, estimateTokens, mulberry32 } from './providers/simulated.js';
