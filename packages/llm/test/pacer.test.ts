import { describe, expect, it } from 'vitest';
import { Pacer } from '../src/pacer.js';

describe('Pacer', () => {
  it('spaces the moments of one key by the gap, in the order asked, and leaves other keys alone', async () => {
    const pacer = new Pacer();
    const at: Record<string, number[]> = { a: [], b: [] };
    const t0 = performance.now();
    await Promise.all([
      // Each caller records its moment and says so (as the LLM client does with its start).
      ...[0, 1, 2].map(() =>
        pacer.next('a', 30).then(() => {
          at.a!.push(performance.now() - t0);
          pacer.sent('a');
        }),
      ),
      pacer.next('b', 30).then(() => at.b!.push(performance.now() - t0)),
    ]);
    expect(at.a![1]! - at.a![0]!).toBeGreaterThanOrEqual(30);
    expect(at.a![2]! - at.a![1]!).toBeGreaterThanOrEqual(30);
    expect(at.b![0]!).toBeLessThan(at.a![1]!); // key b did not queue behind key a
  });

  it('counts the next gap from sent(), when the write came after the turn', async () => {
    const pacer = new Pacer();
    await pacer.next('k', 30);
    await new Promise((r) => setTimeout(r, 15)); // the write was held up after its turn
    const sentAt = performance.now(); // read before sent(): the gap counts from a moment after it
    pacer.sent('k');
    await pacer.next('k', 30);
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(30);
    pacer.sent('unknown'); // a key without a lane: nothing to move
  });

  it('rejects a waiter on abort and lets the next one through', async () => {
    const pacer = new Pacer();
    await pacer.next('k', 5_000);
    const ac = new AbortController();
    const waiting = pacer.next('k', 5_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(pacer.next('k', 1)).resolves.toBeUndefined(); // the lane goes on after a rejection
  });
});
