export { startFakeOpenAI, startFakeHuggingFace, fakeAnswer, echoedKey, nowMs } from './fake.js';
export type {
  Behavior,
  BehaviorSpec,
  EchoKey,
  Fault,
  FakeOptions,
  FakeRequest,
  FakeServer,
  FakeMessage,
} from './fake.js';
export type { LatencySpec, RequestLogEntry, UsageOverride } from './fake.js';
export { demoPrompts } from './fixtures.js';
export { spawnUntilReady, startServerProcess, type RunningProcess } from './process.js';
export { sendLargeBody, type LargeBodyResult } from './bodies.js';
