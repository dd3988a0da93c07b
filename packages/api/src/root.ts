import { chatRouter } from './routers/chat.js';
import { modelsRouter } from './routers/models.js';
import { promptSetsRouter } from './routers/promptSets.js';
import { runsRouter } from './routers/runs.js';
import { tracesRouter } from './routers/traces.js';
import { createTRPCRouter, publicProcedure } from './trpc.js';

export const appRouter = createTRPCRouter({
  // `shuttingDown`: the server is draining (SIGTERM) and starts no run: a balancer can route elsewhere.
  health: publicProcedure.query(async ({ ctx }) => ({
    ok: true as const,
    database: ctx.db.provider,
    time: new Date(),
    shuttingDown: ctx.engine.isClosing(),
    role: ctx.role ?? 'all',
    /** Runs executing in this process now. */
    executing: ctx.engine.executingRuns(),
    /**
     * Distributed executor (REDIS_URL): shard jobs waiting and active on the queue (null when Redis
     * did not answer), and the shards this process executes; null when embedded.
     */
    queue: await ctx.engine.queueHealth(),
  })),
  models: modelsRouter,
  promptSets: promptSetsRouter,
  runs: runsRouter,
  traces: tracesRouter,
  chat: chatRouter,
});

/** The contract every client (monitor, CLI, scripts) types against. */
export type AppRouter = typeof appRouter;
