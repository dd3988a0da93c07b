import { defineConfig } from 'vitest/config';

// One browser and one server at a time: the files run one after another.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 90_000, fileParallelism: false },
});
