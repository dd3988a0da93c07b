export { startServer, type RunningServer, type StartOptions } from './server.js';
export { loadConfig, ConfigError, type ServerConfig } from './config.js';
export { demoPromptSet, SIMULATED_MODELS } from './seed.js';
