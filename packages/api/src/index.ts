export type {
  AuditVerdict,
  EventPayloads,
  EventType,
  ItemStatus,
  RunEventMessage,
  RunFeedMessage,
  RunSnapshot,
  RunStatus,
} from '@batchlight/engine';
export { csvRecords } from '@batchlight/engine';
export type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
export { type ApiLimits, type Context, createTRPCContext } from './context.js';
export {
  type BehindPolicy,
  MAX_QUEUED,
  type ResyncMessage,
  SOCKET_HIGH_WATER,
  type TailGauge,
  type TailMessage,
  tailGauges,
} from './event-tail.js';
export { checkInput, MAX_INPUT_DEPTH, MAX_INPUT_NODES } from './input-check.js';
export { parseCsv, parseJsonl, parsePromptFile } from './prompt-import.js';
export { type AppRouter, appRouter } from './root.js';
export { createCallerFactory, errorIdOf } from './trpc.js';
