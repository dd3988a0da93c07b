import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `pnpm dev` proxies the API to a running server (BATCHLIGHT_SERVER, default :4700). The proxy
// passes the browser's Host and Origin (http://localhost:5173) through unchanged, so that server
// must allow this origin: start it with BATCHLIGHT_ALLOWED_ORIGINS=http://localhost:5173 (its
// Host and Origin checks refuse anything else; README, "Configuration").
const server = process.env.BATCHLIGHT_SERVER ?? 'http://127.0.0.1:4700';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { '/trpc': server, '/export': server, '/ws': { target: server.replace('http', 'ws'), ws: true } },
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
