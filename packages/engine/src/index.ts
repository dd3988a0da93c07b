export { createEngine, EngineInputError, NotFoundError, type Engine, type EngineOptions, type CreateRunInput, type ChatInput } from './engine.js';
export { createInProcessBus, type EventBus } from './events/bus.js';
export { readEventLog } from './events/log.js';
export * from './events/types.js';
export { encryptSecret, decryptSecret, maskSecret } from './models/secrets.js';
export { resolveRegistryModel, resolveSnapshot } from './models/resolve.js';
export { toMessages, promptText } from './run/prompts.js';
export { uuidv7 } from './ids.js';
export * from './reports/index.js';
