// The benchmark's subjects run as their own processes, as users run them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
const FAKE = fileURLToPath(new URL('../../packages/testkit/dist/cli.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  url: string;
  /** Peak resident memory so far (VmHWM), MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({
        child,
        url: m[1]!,
        peakRssMb: () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
        stop: () =>
          new Promise((r) => {
            if (child.exitCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${out.slice(-2000)}`)));
  });
}

// BENCH_SERVER_ARGS passes node flags to the server (e.g. --cpu-prof) for profiling.
export const startServer = (databaseUrl: string) =>
  start([...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? []), SERVER], { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, INIT_CWD: '', BENCH_KEY: 'sk-bench', BATCHLIGHT_SEED: '0' }, /listening on (http:\/\/[\d.:]+)/);

export const startFake = (latencyMs: number, recordStarts = false) =>
  start([FAKE, '--port', '0', '--latency', String(latencyMs), ...(recordStarts ? ['--record-starts'] : [])], {}, /"url":"(http:\/\/[\d.:]+)"/);

export interface FakeStats {
  total: number;
  countsByModel: Record<string, number>;
  maxInFlight: number;
  starts?: number[];
}
export const fakeStats = async (url: string): Promise<FakeStats> => (await fetch(`${url}/__fake/stats`)).json() as Promise<FakeStats>;
export const fakeReset = (url: string) => fetch(`${url}/__fake/reset`, { method: 'POST' });
