import { defineConfig } from 'vitest/config';

// As the other packages: the tests talk to real servers and worker threads, which a loaded machine slows.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } });
