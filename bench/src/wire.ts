// B6 on the wire: when each request reached the fake's port, as the kernel stamped its first
// packet on the loopback interface (tcpdump), rather than when the fake's event loop got to it.
// On a busy 2-vCPU VM that loop is now and then a few ms late, which reads as one long gap and one
// short one at the fake. Needs tcpdump and the right to capture (root); without them B6 reports the
// fake's own stamps only.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Capture {
  /** Ends the capture; the epoch ms of every request's first packet, in order. */
  stop(): Promise<number[]>;
}

export function captureRequestStarts(port: number, file: string): Promise<Capture | null> {
  // Packets to the port whose TCP payload starts with "POST": one per request.
  const filter = `tcp dst port ${port} and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x504f5354`;
  const p = spawn('tcpdump', ['-i', 'lo', '-n', '--immediate-mode', '-U', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((r) => p.once('close', () => r()));
  return new Promise((resolve) => {
    let err = '';
    p.once('error', () => resolve(null)); // no tcpdump
    p.once('exit', () => resolve(null)); // not allowed to capture, or a bad filter
    const silent = setTimeout(() => {
      p.kill();
      resolve(null);
    }, 10_000);
    p.stderr.on('data', (d: Buffer) => {
      err += d;
      if (!/listening on/.test(err)) return;
      clearTimeout(silent);
      resolve({
        stop: async () => {
          p.kill('SIGINT');
          await exited;
          return pcapTimes(readFileSync(file));
        },
      });
    });
  });
}

/** The timestamps of a classic pcap file's records (micro- or nanosecond, either byte order). */
export function pcapTimes(b: Buffer): number[] {
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const nano = u32(0) === 0xa1b23c4d;
  if (!nano && u32(0) !== 0xa1b2c3d4) throw new Error('not a pcap file');
  const out: number[] = [];
  for (let at = 24; at + 16 <= b.length; at += 16 + u32(at + 8))
    out.push(u32(at) * 1000 + u32(at + 4) / (nano ? 1e6 : 1e3));
  return out;
}
