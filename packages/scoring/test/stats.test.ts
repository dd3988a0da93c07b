import { describe, expect, it } from 'vitest';
import { bootstrapMean, comparePaired, consistency, mcnemarExact, type PairedResult, wilson } from '../src/stats.js';

describe('Wilson interval (published values)', () => {
  it.each([
    // passes, n, low, high (Wilson 1927; e.g. Newcombe 1998 table I, and R's prop.test(correct=FALSE))
    [8, 10, 0.4902, 0.9433],
    [45, 50, 0.7864, 0.9565],
    [0, 10, 0, 0.2775],
    [10, 10, 0.7225, 1],
    [81, 263, 0.2553, 0.3662],
  ])('%i/%i → %f to %f', (k, n, low, high) => {
    const w = wilson(k, n)!;
    expect(w.value).toBeCloseTo(k / n, 10);
    expect(w.low).toBeCloseTo(low, 4);
    expect(w.high).toBeCloseTo(high, 4);
  });
  it('has nothing to say about no items', () => expect(wilson(0, 0)).toBeNull());
});

describe('McNemar exact', () => {
  it.each([
    // b, c, two-sided p: 2 * P(X <= min(b, c)), X ~ Binomial(b + c, 1/2)
    [2, 8, 112 / 1024],
    [1, 9, 22 / 1024],
    [0, 5, 2 / 32],
    [5, 5, 1],
    [0, 0, 1],
    [3, 1, 10 / 16],
  ])('b=%i c=%i → p=%f', (b, c, p) => expect(mcnemarExact(b, c)).toBeCloseTo(p, 12));
  it('stays finite at large counts (log space), near the normal approximation', () => {
    // chi-square (c - b)^2 / (b + c) = 1.2469 → p ≈ 0.2641
    expect(mcnemarExact(100_000, 100_500)).toBeCloseTo(0.2651, 3);
  });
});

describe('bootstrap', () => {
  it('is deterministic for a seed, and its interval holds the mean', () => {
    const v = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.65, 0.5];
    const a = bootstrapMean(v, { seed: 7 })!;
    expect(bootstrapMean(v, { seed: 7 })).toEqual(a);
    expect(a.value).toBeCloseTo(0.4875, 10);
    expect(a.low).toBeLessThan(a.value);
    expect(a.high).toBeGreaterThan(a.value);
    // The standard error of this mean is about 0.095: a 95% interval about ±0.19 wide.
    expect(a.high - a.low).toBeGreaterThan(0.25);
    expect(a.high - a.low).toBeLessThan(0.5);
  });
  it('a constant sample has a zero-width interval', () => {
    expect(bootstrapMean([1, 1, 1])).toEqual({ value: 1, low: 1, high: 1 });
  });
});

const pair = (key: string, a: boolean | null, b: boolean | null): PairedResult => ({
  key,
  a: a === null ? null : { pass: a, score: Number(a) },
  b: b === null ? null : { pass: b, score: Number(b) },
});

describe('paired comparison', () => {
  it('says "better" with its interval when the difference is real', () => {
    // 40 prompts: A passes 12 that B fails, B passes 1 that A fails, 27 agree.
    const rows = [
      ...Array.from({ length: 12 }, (_, i) => pair(`a${i}`, true, false)),
      pair('b0', false, true),
      ...Array.from({ length: 27 }, (_, i) => pair(`s${i}`, i % 2 === 0, i % 2 === 0)),
      pair('err', null, true), // errors are left out, not counted as failures
    ];
    const c = comparePaired('gpt', 'qwen', rows);
    expect(c.pairs).toBe(40);
    expect([c.onlyA, c.onlyB]).toEqual([12, 1]);
    expect(c.mcnemarP).toBeCloseTo((2 * 14) / 8192, 10); // 2 * (C(13,0)+C(13,1)) / 2^13
    expect(c.significant).toBe(true);
    expect(c.passDiff!.value).toBeCloseTo(27.5, 10);
    expect(c.summary).toMatch(/^gpt is better than qwen by 27\.5 points \(95% CI \d+\.\d to \d+\.\d\) of pass rate/);
  });

  it('says "no significant difference" when the interval holds 0, whatever the point estimate', () => {
    const rows = [pair('1', true, false), pair('2', true, false), pair('3', false, true), pair('4', true, true)];
    const c = comparePaired('A', 'B', rows);
    expect(c.significant).toBe(false);
    expect(c.summary).toMatch(/^no significant difference between A and B on 4 shared prompts/);
    expect(c.summary).not.toMatch(/better/);
  });

  it('says there is nothing to compare when no prompt was scored under both', () => {
    expect(comparePaired('A', 'B', [pair('1', true, null)]).summary).toMatch(/nothing to compare/);
  });
});

describe('consistency over repeats', () => {
  it('is the share agreeing with the majority, flakiest first', () => {
    const c = consistency(
      new Map([
        ['steady', [true, true, true, true]],
        ['flaky', [true, false, true, false]],
        ['mostly', [true, true, true, false]],
        ['once', [true]],
      ]),
    );
    expect(c.map((x) => [x.key, x.consistency])).toEqual([
      ['flaky', 0.5],
      ['mostly', 0.75],
      ['steady', 1],
    ]);
  });
});
