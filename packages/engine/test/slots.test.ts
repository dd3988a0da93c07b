// A run's call slots on Redis (the distributed executor's concurrency cap), on the real Redis:
// two hubs stand for two processes.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SlotHub } from '../src/run/slots.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `batchlight-test:slots:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
const connections: Redis[] = [];

function hub(ttlMs: number): SlotHub {
  const redis = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  connections.push(redis, sub);
  return new SlotHub(redis, sub, prefix, ttlMs);
}

afterAll(async () => {
  const redis = connections[0]!;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  for (const c of connections) c.disconnect();
});

describe('SlotHub', () => {
  it('holds a run’s concurrency across processes; a release lets a waiter of the other one go', async () => {
    const [a, b] = [hub(30_000), hub(30_000)];
    const runId = 'run-cap';
    const ga = a.gate(runId, 3);
    const gb = b.gate(runId, 3);
    const never = new AbortController().signal;
    const held = [await ga.acquire(never), await ga.acquire(never), await gb.acquire(never)];
    let got = false;
    const waiting = gb.acquire(never).then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toBe(false); // 3 of 3 held, in two processes
    held[0]!(); // released in the other process: announced, taken
    const release = await waiting;
    expect(got).toBe(true);
    expect(ga.inFlight + gb.inFlight).toBe(3);
    release();
    held[1]!();
    held[2]!();
  });

  it('a holder that stops renewing (a dead process) loses its slots once they expire', async () => {
    const dead = hub(300);
    const live = hub(300);
    const runId = 'run-expiry';
    const never = new AbortController().signal;
    await dead.gate(runId, 1).acquire(never); // never released, never renewed
    const ac = new AbortController();
    const waiting = live.gate(runId, 1).acquire(ac.signal);
    // Taken once the dead holder's slot has expired (the waiter tries again on its own).
    await expect(waiting).resolves.toBeTypeOf('function');
  });

  it('a waiter stopped by its signal gives up, and takes no slot', async () => {
    const h = hub(30_000);
    const runId = 'run-abort';
    const never = new AbortController().signal;
    const g = h.gate(runId, 1);
    const first = await g.acquire(never);
    const ac = new AbortController();
    const waiting = g.acquire(ac.signal);
    ac.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    first();
    const again = await g.acquire(never);
    expect(g.inFlight).toBe(1);
    again();
  });
});
