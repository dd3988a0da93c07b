import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { monotonicUuidv7, uuidv7 } from '../src/ids.js';
import { decryptSecret, encryptSecret, maskSecret } from '../src/models/secrets.js';
import { CallGate } from '../src/run/gate.js';

describe('CallGate', () => {
  it('never lets more than `concurrency` calls run at once', async () => {
    const gate = new CallGate(3);
    const signal = new AbortController().signal;
    setMaxListeners(0, signal);
    let inFlight = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const release = await gate.acquire(signal);
        inFlight++;
        max = Math.max(max, inFlight);
        await sleep(2 + (i % 3));
        inFlight--;
        release();
      }),
    );
    expect(max).toBe(3);
    expect(gate.inFlight).toBe(0);
  });

  it('rejects waiting callers when the signal aborts, and keeps its slot count right', async () => {
    const gate = new CallGate(1);
    const ac = new AbortController();
    const held = await gate.acquire(ac.signal);
    const waiting = gate.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    held();
    expect(gate.inFlight).toBe(0);
    const again = await gate.acquire(new AbortController().signal);
    expect(gate.inFlight).toBe(1);
    again();
  });
});

describe('ids', () => {
  it('makes monotonic UUIDv7s that sort in creation order within one millisecond', () => {
    const next = monotonicUuidv7();
    const ids = Array.from({ length: 5000 }, () => next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5000);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
});

describe('secrets', () => {
  it('round-trips through AES-GCM, refuses a wrong key, and masks', () => {
    const stored = encryptSecret('sk-abcdefghijklmnop1234', 'k1');
    expect(stored).not.toContain('abcdefgh');
    expect(decryptSecret(stored, 'k1')).toBe('sk-abcdefghijklmnop1234');
    expect(() => decryptSecret(stored, 'k2')).toThrow(/BATCHLIGHT_SECRET_KEY/);
    expect(maskSecret('sk-abcdefghijklmnop1234')).toBe('sk-…1234');
    expect(maskSecret('short')).toBe('••••');
  });
});
