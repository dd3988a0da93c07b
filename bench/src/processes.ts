// The benchmark's subjects run as their own processes, as users run them.
import { fileURLToPath } from 'node:url';
import { type RunningProcess, startServerProcess } from '@batchlight/server/testing';
import { spawnUntilReady } from '@batchlight/testkit';

export type Proc = RunningProcess;
const FAKE = fileURLToPath(import.meta.resolve('@batchlight/testkit/cli'));

// BENCH_SERVER_ARGS passes node flags to the server (e.g. --cpu-prof) for profiling.
export const startServer = (databaseUrl: string) =>
  startServerProcess(
    { DATABASE_URL: databaseUrl, LLM_KEY_BENCH: 'sk-bench', BATCHLIGHT_SEED: '0' },
    process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [],
  );

/** A server with settings of its own (B8's roles and queue), as `startServer`. */
export const startServerWith = (databaseUrl: string, env: NodeJS.ProcessEnv) =>
  startServerProcess(
    { DATABASE_URL: databaseUrl, LLM_KEY_BENCH: 'sk-bench', BATCHLIGHT_SEED: '0', ...env },
    process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [],
  );

export const startFake = (latencyMs: number, recordStarts = false, limitRpm?: number) =>
  spawnUntilReady(
    [
      FAKE,
      ...['--port', '0', '--latency', String(latencyMs)],
      ...(recordStarts ? ['--record-starts'] : []),
      ...(limitRpm ? ['--limit-rpm', String(limitRpm)] : []),
    ],
    {},
    /"url":"(http:\/\/[\d.:]+)"/,
  );

export interface FakeStats {
  total: number;
  countsByModel: Record<string, number>;
  maxInFlight: number;
  /** Answers by HTTP status. */
  byStatus: Record<string, number>;
  starts?: number[];
}
export const fakeStats = async (url: string): Promise<FakeStats> =>
  (await fetch(`${url}/__fake/stats`)).json() as Promise<FakeStats>;
export const fakeReset = (url: string) => fetch(`${url}/__fake/reset`, { method: 'POST' });
