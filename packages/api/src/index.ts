export { appRouter, type AppRouter } from './root.js';
export { createTRPCContext, type Context } from './context.js';
export { createCallerFactory } from './trpc.js';
export { parsePromptFile, parseCsv, parseJsonl } from './prompt-import.js';
export type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
export type { RunEventMessage, RunFeedMessage, EventPayloads, EventType, RunStatus, ItemStatus } from '@batchlight/engine';
