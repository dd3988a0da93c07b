// Input schemas of the API. Limits here are the product's limits (DESIGN.md, issue #4).
import { z } from 'zod';
import { requestId } from './idempotency.js';

export const id = z.string().min(1, 'required').max(100);
export const cursor = z.string().max(100).optional();
export const limit = (max: number, dflt: number) => z.number().int().min(1).max(max).default(dflt);

export const chatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(200_000),
});
export const promptInput = z.union([
  z.string().min(1, 'a prompt cannot be empty').max(200_000),
  z.array(chatMessage).min(1),
]);

export const providerName = z.enum(['openai', 'huggingface', 'simulated']);

const price = z.number().min(0).max(10_000).nullable().optional();
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
      temperature: z.number().min(0).max(2).optional(),
      maxTokens: z.number().int().min(1).max(1_000_000).optional(),
      topP: z.number().min(0).max(1).optional(),
      stream: z.boolean().optional(),
      hfProvider: z.string().max(100).optional(),
      simulation: simulationParams.optional(),
    })
    .default({}),
  pricing: z.object({ inputPerMTok: price, outputPerMTok: price, cachedInputPerMTok: price }).default({}),
});

export const createRunInput = z.object({
  promptSetId: id,
  modelIds: z.array(id).min(1, 'choose at least one model').max(50),
  concurrency: z.number().int().min(1, 'must be between 1 and 256').max(256, 'must be between 1 and 256'),
  delayMs: z
    .number()
    .int()
    .min(0, 'must be between 0 and 600000')
    .max(600_000, 'must be between 0 and 600000')
    .default(0),
  // Bounded again by BATCHLIGHT_MAX_RUN_ITEMS (the engine, which knows the set's size).
  promptLimit: atLeastOne.max(100_000_000, 'must be at most 100000000').nullable().optional(),
  repeats: z.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(1),
  name: z.string().trim().max(200).nullable().optional(),
  maxRetries: z.number().int().min(0).max(10).default(3),
  timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  requestId,
});

export const itemStatus = z.enum(['pending', 'completed', 'failed', 'cancelled']);
export const runStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted']);
export const traceStatus = z.enum(['ok', 'error', 'interrupted', 'cancelled']);
