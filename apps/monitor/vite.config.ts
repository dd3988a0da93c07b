import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * The run page's charts are a chunk of their own (imported dynamically); a modulepreload link
 * has the browser fetch and compile it alongside the main bundle, so the charts show with the
 * counters instead of after (measured on a finished 100,000-item run's page).
 */
function preloadChunk(name: string): Plugin {
  return {
    name: 'preload-chunk',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.name === name);
        if (!chunk) throw new Error(`preload-chunk: no chunk named ${name} in the build`);
        return [
          {
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `/${chunk.fileName}` },
            injectTo: 'head',
          },
        ];
      },
    },
  };
}

// `pnpm dev` proxies the API to a running server (BATCHLIGHT_SERVER, default :4700). The proxy
// passes the browser's Host and Origin (http://localhost:5173) through unchanged, so that server
// must allow this origin: start it with BATCHLIGHT_ALLOWED_ORIGINS=http://localhost:5173 (its
// Host and Origin checks refuse anything else; README, "Configuration").
const server = process.env.BATCHLIGHT_SERVER ?? 'http://127.0.0.1:4700';

export default defineConfig({
  plugins: [react(), preloadChunk('LatencyCharts')],
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
