import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { transformer } from '../src/transformer.js';

// A run's live event as the engine makes it: the shape the shortcut exists for.
const event = {
  runId: 'r1',
  seq: 42,
  type: 'item.completed',
  at: '2026-11-27T03:00:00.000Z',
  payload: {
    itemId: 'i1',
    attribution: 'match',
    latencyMs: 51.5,
    costUsd: 0,
    tokens: { input: 12, output: 30 },
    preview: 'ok',
    tags: ['a', 'b'],
    extra: null,
    streamed: true,
  },
};

describe('transformer', () => {
  it('sends plain JSON as it is, without superjson walking it', () => {
    const out = transformer.output.serialize(event);
    expect(out).toEqual(superjson.serialize(event));
    // The shortcut hands over the value itself; superjson's walker always copies.
    expect(out.json).toBe(event);
    expect(transformer.output.serialize([event, 'x', 1, null]).json).toEqual([event, 'x', 1, null]);
  });

  it.each([
    ['a Date', { at: new Date('2026-11-27T03:00:00Z') }],
    ['undefined in an object', { a: 1, b: undefined }],
    ['undefined in an array', [1, undefined]],
    ['a sparse array', [1, undefined, 3]],
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['-0', { n: -0 }],
    ['a BigInt', { n: 10n }],
    ['a Map', { m: new Map([['k', 1]]) }],
    ['a Set', { s: new Set([1]) }],
    ['a class instance', { e: new Error('boom') }],
    ['an object without a prototype', { o: Object.assign(Object.create(null), { a: 1 }) }],
    [
      'an object met twice',
      (() => {
        const shared = { a: 1 };
        return { x: shared, y: shared };
      })(),
    ],
    ['undefined alone', undefined],
  ])('leaves %s to superjson, with the same output', (_what, value) => {
    const out = transformer.output.serialize(value);
    expect(out).toEqual(superjson.serialize(value));
    const wire = (v: unknown) => JSON.parse(JSON.stringify(v));
    expect(transformer.output.deserialize(wire(out))).toEqual(superjson.deserialize(wire(superjson.serialize(value))));
  });

  it('lets superjson refuse the keys it refuses', () => {
    const polluted = JSON.parse('{"payload":{"constructor":1}}');
    expect(() => superjson.serialize(polluted)).toThrow(/prototype pollution/);
    expect(() => transformer.output.serialize(polluted)).toThrow(/prototype pollution/);
  });

  it('round-trips what it sends through the clients’ superjson', () => {
    const wire = JSON.stringify(transformer.output.serialize(event));
    expect(superjson.deserialize(JSON.parse(wire))).toEqual(event);
  });
});
