import { describe, expect, it } from 'vitest';
import { sharedWhileUnderWay } from '../src/in-flight.js';
import { auditShareKey } from '../src/routers/runs.js';

describe('sharedWhileUnderWay', () => {
  it('runs the work once for callers that arrive while it is under way, and anew after it settles', async () => {
    const once = sharedWhileUnderWay<string, number>();
    let calls = 0;
    let release!: (v: number) => void;
    const work = () => {
      calls++;
      return new Promise<number>((r) => (release = r));
    };
    const a = once('run-1', work);
    const b = once('run-1', work);
    expect(calls).toBe(1);
    release(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    const c = once('run-1', work);
    expect(calls).toBe(2);
    release(8);
    expect(await c).toBe(8);
  });

  it('keeps keys apart, and starts again after a failure', async () => {
    const once = sharedWhileUnderWay<string, string>();
    let calls = 0;
    const fail = () => {
      calls++;
      return Promise.reject(new Error('database away'));
    };
    await Promise.all([
      expect(once('a', fail)).rejects.toThrow('database away'),
      expect(once('a', fail)).rejects.toThrow('database away'),
    ]);
    expect(calls).toBe(1);
    expect(await once('a', async () => 'ok')).toBe('ok');
    const [x, y] = await Promise.all([once('x', async () => 'x'), once('y', async () => 'y')]);
    expect([x, y]).toEqual(['x', 'y']);
  });
});

describe('auditShareKey', () => {
  it('lets only requests made after the same finish share an audit', () => {
    const finishedAt = new Date('2026-11-30T12:00:00Z');
    // A running run's audit is never shared: one begun before its end would say `still_running`.
    expect(auditShareKey('r1', { status: 'running', finishedAt: null })).toBeNull();
    expect(auditShareKey('r1', { status: 'queued', finishedAt: null })).toBeNull();
    expect(auditShareKey('r1', null)).toBeNull();
    const done = auditShareKey('r1', { status: 'completed', finishedAt });
    expect(done).toBe(auditShareKey('r1', { status: 'completed', finishedAt }));
    // Resumed and finished again: a new finish, a new audit.
    expect(auditShareKey('r1', { status: 'completed', finishedAt: new Date(finishedAt.getTime() + 1) })).not.toBe(done);
    expect(auditShareKey('r2', { status: 'completed', finishedAt })).not.toBe(done);
  });
});
