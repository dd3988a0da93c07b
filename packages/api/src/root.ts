import { chatRouter } from './routers/chat.js';
import { modelsRouter } from './routers/models.js';
import { promptSetsRouter } from './routers/promptSets.js';
import { runsRouter } from './routers/runs.js';
import { tracesRouter } from './routers/traces.js';
import { createTRPCRouter, publicProcedure } from './trpc.js';

export const appRouter = createTRPCRouter({
  // `shuttingDown`: the server is draining (SIGTERM) and starts no run: a balancer can route elsewhere.
  health: publicProcedure.query(({ ctx }) => ({
    ok: true as const,
    database: ctx.db.provider,
    time: new Date(),
    shuttingDown: ctx.engine.isClosing(),
    role: ctx.role ?? 'all',
    /** Runs executing in this process now. */
    executing: ctx.engine.executingRuns(),
  })),
  models: modelsRouter,
  promptSets: promptSetsRouter,
  runs: runsRouter,
  traces: tracesRouter,
  chat: chatRouter,
});

/** The contract every client (monitor, CLI, scripts) types against. */
export type AppRouter = typeof appRouter;
