export { appRouter, type AppRouter } from './root.js';
export { createTRPCContext, type Context, type ApiLimits } from './context.js';
export { createCallerFactory, errorIdOf } from './trpc.js';
export { checkInput, MAX_INPUT_DEPTH, MAX_INPUT_NODES } from './input-check.js';
export { parsePromptFile, parseCsv, parseJsonl } from './prompt-import.js';
export type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
export type {
  RunEventMessage,
  RunFeedMessage,
  EventPayloads,
  EventType,
  RunStatus,
  ItemStatus,
} from '@batchlight/engine';
