import { APIError } from 'openai';
import type { StreamEnd } from './shared.js';

/**
 * Server-sent events, decoded the way the openai SDK's Stream decodes them (core/streaming),
 * with less work per chunk: the SDK copies the whole pending buffer on every chunk and scans it
 * byte by byte twice; this decodes each chunk once (TextDecoder in stream mode, so a UTF-8
 * character split across chunks survives) and splits lines in the string. See pooled-fetch.ts
 * for what that saves.
 */
export interface SSEvent {
  /** The `event:` field, null when absent. */
  event: string | null;
  /** The `data:` lines joined by `\n`. */
  data: string;
}

/**
 * Decodes a stream's chunks as they come: push() returns the events each chunk completes.
 * Synchronous, so that a network read of 20 events costs one step of the caller's loop rather
 * than 20 turns of async generators (2-3 µs each, per layer).
 *
 * Lines end at `\r\n`, `\n` or `\r`; `:` starts a comment; a blank line dispatches the event if
 * it has data or an event name (as the SDK does: an empty `data:` line dispatches `''`); an event
 * cut off by the end of the stream is dropped. `id:` and `retry:` are ignored.
 */
export class SSEDecoder {
  private readonly decoder = new TextDecoder();
  private readonly lineEnd = /\r\n|\r|\n/g;
  private buf = '';
  private event: string | null = null;
  private data: string[] = [];

  push(chunk: Uint8Array): SSEvent[] {
    const out: SSEvent[] = [];
    const lineEnd = this.lineEnd;
    let buf = this.buf + this.decoder.decode(chunk, { stream: true });
    let pos = 0;
    lineEnd.lastIndex = 0;
    for (let m = lineEnd.exec(buf); m; m = lineEnd.exec(buf)) {
      // A `\r` last in the buffer may be the first half of a `\r\n` split across chunks.
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      const line = buf.slice(pos, m.index);
      pos = lineEnd.lastIndex;
      if (line === '') {
        if (this.event || this.data.length > 0) {
          out.push({ event: this.event, data: this.data.join('\n') });
          this.event = null;
          this.data = [];
        }
        continue;
      }
      if (line.charCodeAt(0) === 58 /* : */) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
    }
    buf = pos === buf.length ? '' : buf.slice(pos);
    this.buf = buf;
    return out;
  }

  /**
   * At the end of the stream. A `\r` held back by push() was a line end after all, and a blank
   * line if alone; anything else left over is an event without the blank line that would
   * dispatch it.
   */
  end(): SSEvent[] {
    return this.buf === '\r' && (this.event || this.data.length > 0)
      ? [{ event: this.event, data: this.data.join('\n') }]
      : [];
  }
}

/**
 * The JSON payloads of an OpenAI-style stream, with the SDK's Stream semantics, in batches: each
 * batch holds the payloads one network read completed. `[DONE]` ends it (anything after is read
 * and ignored); invalid JSON throws the SyntaxError; a payload with an `error` member throws the
 * SDK's own APIError (no status, the response's headers), so classifyError treats it exactly as
 * before. Unlike the SDK, an `event: error` whose payload has no `error` member throws too,
 * instead of passing through as a chunk. A throw comes after the batch of the payloads before it,
 * as it would one payload at a time. `end.done` is set when `[DONE]` comes.
 */
export async function* openAIChunkBatches(
  body: AsyncIterable<Uint8Array>,
  headers: Headers,
  end: StreamEnd = { done: false },
): AsyncGenerator<unknown[]> {
  const decoder = new SSEDecoder();
  let done = false;
  const payloads = (events: SSEvent[]): { batch: unknown[]; failed: boolean; error?: unknown } => {
    const batch: unknown[] = [];
    for (const sse of events) {
      if (done) break;
      if (sse.data.startsWith('[DONE]')) {
        done = end.done = true;
        break;
      }
      try {
        const data = JSON.parse(sse.data);
        if (data?.error) throw new APIError(undefined, data.error, undefined, headers);
        if (sse.event === 'error') throw new APIError(undefined, data ?? undefined, undefined, headers);
        batch.push(data);
      } catch (error) {
        return { batch, failed: true, error };
      }
    }
    return { batch, failed: false };
  };
  const step = function* (events: SSEvent[]) {
    const { batch, failed, error } = payloads(events);
    if (batch.length) yield batch;
    if (failed) throw error;
  };
  for await (const chunk of body) {
    if (done) continue; // read to the end, as the SDK does
    yield* step(decoder.push(chunk));
  }
  if (!done) yield* step(decoder.end());
}

/**
 * Passes a stream's bytes through as they are and sets `end.done` once its `[DONE]` line has gone
 * by: for an SDK that reads the stream itself and does not say whether it saw one (Hugging Face).
 */
export function watchForDone(body: ReadableStream<Uint8Array>, end: StreamEnd): ReadableStream<Uint8Array> {
  const decoder = new SSEDecoder();
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        if (!end.done && decoder.push(chunk).some((e) => e.data.startsWith('[DONE]'))) end.done = true;
        out.enqueue(chunk);
      },
    }),
  );
}
