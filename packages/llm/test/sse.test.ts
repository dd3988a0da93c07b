import OpenAI from 'openai';
import { _iterSSEMessages, Stream } from 'openai/core/streaming';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../src/index.js';
import { openAIChunkBatches, SSEReader } from '../src/providers/sse.js';

interface SSEvent {
  event: string | null;
  data: string;
}

const enc = new TextEncoder();

async function* chunked(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}
/** The bytes of `text` cut at the given byte offsets. */
function cutAt(text: string | Uint8Array, offsets: number[]): Uint8Array[] {
  const bytes = typeof text === 'string' ? enc.encode(text) : text;
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const o of [...offsets, bytes.length]) {
    out.push(bytes.subarray(prev, o));
    prev = o;
  }
  return out;
}
async function events(parts: Uint8Array[]): Promise<SSEvent[]> {
  const reader = new SSEReader();
  const out: SSEvent[] = [];
  const plain = (es: Array<{ event?: string; data: string }>) =>
    es.map((e) => ({ event: e.event ?? null, data: e.data }));
  for await (const chunk of chunked(parts)) out.push(...plain(reader.push(chunk)));
  return [...out, ...plain(reader.end())];
}
/** What the openai SDK's own decoder makes of the same chunks. */
async function sdkEvents(parts: Uint8Array[]): Promise<SSEvent[]> {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  const out: SSEvent[] = [];
  for await (const e of _iterSSEMessages(new Response(body), new AbortController()))
    out.push({ event: e.event, data: e.data });
  return out;
}
async function chunks(text: string, offsets: number[] = []): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const batch of openAIChunkBatches(chunked(cutAt(text, offsets)), new Headers())) out.push(...batch);
  return out;
}
/** What our decoder throws and what the SDK's Stream throws on the same body, both classified. */
async function bothErrors(text: string, headers: Record<string, string> = {}) {
  const ours = await chunks(text).then(
    () => null,
    (e) => e,
  );
  const sdk = await (async () => {
    const res = new Response(text, { headers });
    const quiet = new OpenAI({ apiKey: 'x', logLevel: 'off' });
    for await (const _ of Stream.fromSSEResponse(res, new AbortController(), quiet)) void _;
    return null;
  })().catch((e) => e);
  return { ours, sdk };
}

describe('SSEReader', () => {
  it('a multi-byte UTF-8 character split at every byte keeps its bytes', async () => {
    const text = 'data: {"c":"héllo — 🎉 日本"}\n\n';
    const n = enc.encode(text).length;
    for (let i = 1; i < n; i++) {
      expect(await events(cutAt(text, [i]))).toEqual([{ event: null, data: '{"c":"héllo — 🎉 日本"}' }]);
    }
    // One byte per chunk.
    expect(
      await events(
        cutAt(
          text,
          Array.from({ length: n - 1 }, (_, i) => i + 1),
        ),
      ),
    ).toEqual([{ event: null, data: '{"c":"héllo — 🎉 日本"}' }]);
  });

  it('\\r\\n split across chunks is one line end; \\n, \\r\\n and \\r all end lines', async () => {
    const want = [
      { event: null, data: 'a\nb' },
      { event: null, data: 'c' },
    ];
    expect(await events(cutAt('data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n', [8]))).toEqual(want); // ...a\r | \n...
    expect(await events(cutAt('data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n', [17, 18]))).toEqual(want); // b\r\n\r | \n
    expect(await events(cutAt('data: a\ndata: b\n\ndata: c\n\n', [7]))).toEqual(want);
    expect(await events(cutAt('data: a\rdata: b\r\rdata: c\r\r', [8, 16]))).toEqual(want);
    // A lone \r at the very end still ends the event.
    expect(await events(cutAt('data: c\r\r', [8]))).toEqual([{ event: null, data: 'c' }]);
  });

  it('multi-line data, comments, event names, other fields, events without a blank line', async () => {
    const text =
      ': hello\n\nevent: delta\ndata: one\n: in the middle\ndata:two\ndata\nid: 7\nretry: 100\n\n:x\ndata: tail-without-blank-line\n';
    expect(await events(cutAt(text, [3, 30]))).toEqual([{ event: 'delta', data: 'one\ntwo\n' }]);
    // The SSE standard dispatches no event without a data line (the SDK's decoder would, with '').
    expect(await events(cutAt('event: ping\n\n', []))).toEqual([]);
    expect(await events(cutAt('data:\n\n', []))).toEqual([{ event: null, data: '' }]);
    expect(await events(cutAt('data:  two spaces\n\n', []))).toEqual([{ event: null, data: ' two spaces' }]);
  });

  it('decodes every event with data exactly as the SDK does (random bodies, random chunking)', async () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [
      'data: ',
      'data:',
      'event: ',
      'event:x',
      ':c',
      'id: 1',
      'x',
      '{"a":1}',
      'é',
      '🎉',
      ' ',
      '\n',
      '\n',
      '\r\n',
      '\r',
      '\n\n',
      '\r\n\r\n',
    ];
    for (let t = 0; t < 400; t++) {
      let text = '';
      for (let k = 0, n = 1 + rnd(30); k < n; k++) text += pieces[rnd(pieces.length)];
      const bytes = enc.encode(text);
      const cuts = [...new Set(Array.from({ length: rnd(6) }, () => rnd(bytes.length + 1)))].sort((a, b) => a - b);
      const parts = cutAt(bytes, cuts);
      // Where the two differ by design (an event with no data line; an empty event name, which
      // the SDK keeps as '' and the parser drops), neither carries anything a stream uses.
      const withData = (es: SSEvent[]) =>
        es.filter((e) => e.data !== '').map((e) => ({ ...e, event: e.event || null }));
      expect(withData(await events(parts)), JSON.stringify({ text, cuts })).toEqual(withData(await sdkEvents(parts)));
    }
  });
});

describe('openAIChunkBatches', () => {
  it('comes in batches, one per network read; an error comes after the payloads before it', async () => {
    const text = 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: {"n":3}\n\ndata: {"broken"\n\n';
    const seen: unknown[][] = [];
    const read = (async () => {
      for await (const b of openAIChunkBatches(chunked(cutAt(text, [text.indexOf('data: {"n":3}')])), new Headers()))
        seen.push(b);
    })();
    await expect(read).rejects.toBeInstanceOf(SyntaxError);
    expect(seen).toEqual([[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
  });

  it('[DONE] ends the stream; anything after it, even invalid, is ignored', async () => {
    const text = 'data: {"n":1}\n\n: c\n\ndata: {"n":2}\n\ndata: [DONE]\n\ndata: {"n":3}\n\ndata: not json\n\n';
    expect(await chunks(text, [5, 20])).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('invalid JSON throws a SyntaxError → invalid_response, as with the SDK', async () => {
    const { ours, sdk } = await bothErrors('data: {"n":1}\n\ndata: {"broken"\n\n');
    expect(ours).toBeInstanceOf(SyntaxError);
    expect(classifyError(ours)).toEqual(classifyError(sdk));
    expect(classifyError(ours).type).toBe('invalid_response');
  });

  it('an in-band error is the SDK APIError and classifies exactly as the SDK Stream error does', async () => {
    const payloads = [
      { error: { message: 'The server is overloaded', type: 'server_error', code: 'overloaded' } },
      { error: { message: 'network connection error upstream' } },
      { error: 'plain string error' },
    ];
    for (const p of payloads) {
      const { ours, sdk } = await bothErrors(`data: {"n":1}\n\ndata: ${JSON.stringify(p)}\n\n`, {
        'x-request-id': 'req_1',
      });
      expect(ours).not.toBeNull();
      expect(ours.constructor).toBe(sdk.constructor);
      expect(ours.message).toBe(sdk.message);
      expect(classifyError(ours)).toEqual(classifyError(sdk));
    }
  });

  it('event: error throws even without an error member (the SDK would pass it on as a chunk)', async () => {
    await expect(chunks('event: error\ndata: {"message":"upstream failed"}\n\n')).rejects.toThrow('upstream failed');
    const withMember = 'event: error\ndata: {"error":{"message":"boom"}}\n\n';
    const { ours, sdk } = await bothErrors(withMember);
    expect(classifyError(ours)).toEqual(classifyError(sdk));
  });
});
