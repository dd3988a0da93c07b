import { describe, expect, it } from 'vitest';
import { sharedWhileUnderWay } from '../src/in-flight.js';

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
