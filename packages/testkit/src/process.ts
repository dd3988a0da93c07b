// Starts a Node program as its own process and waits for the line that says it is ready (the
// fake provider's CLI; the server's launcher in @batchlight/server/testing builds on it).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunningProcess {
  child: ChildProcess;
  /** The first capture group of the ready pattern (a URL). */
  url: string;
  /** Peak resident memory so far (VmHWM), in MB. */
  peakRssMb(): number;
  /** CPU time used so far (user + system), in ms, from /proc (10 ms resolution); all threads, or the main one. */
  cpuMs(mainThreadOnly?: boolean): number;
  /** SIGTERM (or the given signal), resolved once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnUntilReady(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready after ${timeoutMs} ms: ${out.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      child.removeListener('exit', onEarlyExit);
      resolve({
        child,
        url: m[1]!,
        peakRssMb: () =>
          Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
        cpuMs: (mainThreadOnly = false) => {
          // Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name.
          const stat = mainThreadOnly ? `/proc/${child.pid}/task/${child.pid}/stat` : `/proc/${child.pid}/stat`;
          const f = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
          return (Number(f[11]) + Number(f[12])) * 10;
        },
        stop: (signal = 'SIGTERM') =>
          new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once('exit', () => r());
            child.kill(signal);
          }),
      });
    };
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before it was ready: ${out.slice(-2000)}`));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d));
    child.once('exit', onEarlyExit);
  });
}
