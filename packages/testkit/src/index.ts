export { type LargeBodyResult, sendLargeBody } from './bodies.js';
export type {
  Behavior,
  BehaviorSpec,
  EchoKey,
  FakeLimit,
  FakeMessage,
  FakeOptions,
  FakeRequest,
  FakeServer,
  Fault,
  LatencySpec,
  RequestLogEntry,
  UsageOverride,
} from './fake.js';
export {
  echoedKey,
  fakeAnswer,
  formatResetDuration,
  nowMs,
  startFakeHuggingFace,
  startFakeOpenAI,
} from './fake.js';
export { demoPrompts } from './fixtures.js';
export { type RunningProcess, spawnUntilReady } from './process.js';
