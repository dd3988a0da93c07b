export { ConfigError, loadConfig, type ServerConfig } from './config.js';
export { demoPromptSet, SIMULATED_MODELS } from './seed.js';
export { type RunningServer, type StartOptions, startServer } from './server.js';
