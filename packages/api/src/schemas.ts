// Input schemas of the API: the product's limits, defaults, statuses and provider names, which the
// CLI and the monitor import from here (`@batchlight/api/schemas`) instead of restating them. The
// monitor loads this in the browser: zod, the engine's status lists and the LLM package's defaults
// only, no Node built-ins.
import { ITEM_STATUSES, RUN_STATUSES } from '@batchlight/engine/events';
import { isRowField, MATRIX_SORT_FIELDS } from '@batchlight/engine/matrix-fields';
import { z } from 'zod';
import { RUN_DEFAULTS } from './run-defaults.js';

export const id = z.string().min(1, 'required').max(100);
export const cursor = z.string().max(100).optional();
export const limit = (max: number, dflt: number) =>
  z.number().int().min(1, `must be between 1 and ${max}`).max(max, `must be between 1 and ${max}`).default(dflt);

/** Optional on each create mutation: any id the client chooses (a UUID is a good one). */
export const requestId = z
  .string()
  .min(1, 'required')
  .max(100, 'at most 100 characters')
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces')
  .optional();

export const chatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(200_000),
});
export const promptInput = z.union([
  z.string().min(1, 'a prompt cannot be empty').max(200_000),
  z.array(chatMessage).min(1),
]);

export const providerName = z.enum(['openai', 'huggingface', 'simulated']);

/** A price in USD per million tokens. */
export const price = z
  // Also for what is not a number (a form's "abc" arrives as NaN): one message, not zod's type dump.
  .number({ error: 'must be a number ≥ 0' })
  .min(0, 'must be a number ≥ 0')
  .max(10_000, 'must be at most 10000')
  .nullable()
  .optional();
const fraction = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const ms = z.number().min(0, 'must be 0 or more');
const atLeastOne = z.number().int().min(1, 'must be at least 1');
/**
 * The simulator's knobs. Output and latency are bounded again by the server's settings
 * (BATCHLIGHT_SIM_MAX_*) when a model is saved, and the simulator holds them at call time.
 */
export const simulationParams = z.strictObject({
  seed: z.number().int().optional(),
  latencyMs: z.union([ms, z.strictObject({ p50: ms, p95: ms })]).optional(),
  ttftFraction: fraction.optional(),
  outputTokens: z
    .strictObject({ min: atLeastOne, max: atLeastOne })
    .refine((r) => r.min <= r.max, 'min must not be more than max')
    .optional(),
  errorRate: fraction.optional(),
  rateLimitRate: fraction.optional(),
  retryAfterMs: z.number().int().min(0).max(600_000, 'must be between 0 and 600000').optional(),
  answerAs: z.string().max(300).optional(),
});
const perMinute = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(1_000_000_000, 'must be at most 1000000000')
  .nullable()
  .optional();

/** Limits of the provider key a model calls with (null or absent: not set). */
export const rateLimitFields = z.object({
  requestsPerMinute: perMinute,
  tokensPerMinute: perMinute,
  concurrency: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(10_000, 'must be at most 10000')
    .nullable()
    .optional(),
});

export const modelFields = z.object({
  name: z.string().trim().min(1, 'required').max(120),
  provider: providerName,
  providerModel: z.string().trim().min(1, 'required').max(300),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .nullable()
    .optional(),
  /** Name of the environment variable that holds the key. */
  credentialEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .nullable()
    .optional(),
  /** A key to store encrypted; never returned. */
  apiKey: z.string().min(1).max(1000).nullable().optional(),
  params: z
    .object({
      temperature: z
        .number({ error: 'must be a number between 0 and 2' })
        .min(0, 'must be a number between 0 and 2')
        .max(2, 'must be a number between 0 and 2')
        .optional(),
      maxTokens: z
        .number({ error: 'must be a whole number between 1 and 1000000' })
        .int('must be a whole number between 1 and 1000000')
        .min(1, 'must be a whole number between 1 and 1000000')
        .max(1_000_000, 'must be a whole number between 1 and 1000000')
        .optional(),
      topP: z.number().min(0).max(1).optional(),
      stream: z.boolean().optional(),
      hfProvider: z.string().max(100).optional(),
      simulation: simulationParams.optional(),
    })
    .default({}),
  pricing: z.object({ inputPerMTok: price, outputPerMTok: price, cachedInputPerMTok: price }).default({}),
  rateLimits: rateLimitFields.default({}),
});

// In a module of its own, re-exported: a bundle that takes only the defaults (the monitor's form)
// then leaves this file's schemas out (zod 4's objects probe with eval, which the page's CSP forbids).
export { RUN_DEFAULTS } from './run-defaults.js';

const wholeBetween = (min: number, max: number) => {
  const problem = `must be between ${min} and ${max}`;
  return z
    .number({ error: `must be a whole number between ${min} and ${max}` })
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, problem)
    .max(max, problem);
};

export const createRunInput = z.object({
  promptSetId: id,
  modelIds: z.array(id).min(1, 'choose at least one model').max(50),
  concurrency: wholeBetween(1, 256),
  delayMs: wholeBetween(0, 600_000).default(RUN_DEFAULTS.delayMs),
  // Bounded again by BATCHLIGHT_MAX_RUN_ITEMS (the engine, which knows the set's size).
  promptLimit: atLeastOne.max(100_000_000, 'must be at most 100000000').nullable().optional(),
  repeats: wholeBetween(1, 100).default(RUN_DEFAULTS.repeats),
  name: z.string().trim().max(200).nullable().optional(),
  maxRetries: wholeBetween(0, 10).default(RUN_DEFAULTS.maxRetries),
  timeoutMs: wholeBetween(100, 600_000).default(RUN_DEFAULTS.timeoutMs),
  requestId,
});

export const itemStatus = z.enum(ITEM_STATUSES);
export const runStatus = z.enum(RUN_STATUSES);
export const listRunsInput = z
  .object({
    status: runStatus.optional(),
    /** Runs whose name, prompt set's name, or a model's name or provider model holds this (any case). */
    search: z.string().max(200, 'at most 200 characters').optional(),
    cursor,
    limit: limit(200, 50),
  })
  .default({ limit: 50 });
export { ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, ITEM_STATUSES, RUN_STATUSES } from '@batchlight/engine/events';
export { MATRIX_CELL_FIELDS, MATRIX_SORT_FIELDS } from '@batchlight/engine/matrix-fields';
export const traceStatus = z.enum(['ok', 'error', 'interrupted', 'cancelled']);

export const matrixInput = z
  .object({
    runId: id,
    search: z.string().max(500, 'at most 500 characters').optional(),
    status: itemStatus.optional(),
    modelId: id.optional(),
    sortField: z.enum(MATRIX_SORT_FIELDS).optional(),
    /** The column (`modelId:repeatIndex`) a cell field sorts by. */
    sortColumn: z.string().max(210).optional(),
    dir: z.enum(['asc', 'desc']).default('asc'),
    offset: z.number().int().min(0, 'must be 0 or more').max(100_000_000).default(0),
    limit: limit(500, 100),
  })
  .refine((q) => !q.sortField || isRowField(q.sortField) || q.sortColumn, {
    path: ['sortColumn'],
    message: 'required to sort by a cell field',
  });
