import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { APIError } from 'openai';
import type { StreamEnd } from './shared.js';

/**
 * A stream's events, chunk by chunk: `push()` returns the events each chunk completes. The SSE
 * grammar is eventsource-parser's, the standard's: lines end at `\r\n`, `\n` or `\r`, split across
 * chunks or not; comments; an event with no `data:` line is not dispatched (the openai SDK's
 * decoder dispatches it with data `''`, which its JSON parse then rejects). The bytes are decoded in
 * stream mode, so a UTF-8 character split across chunks survives. Synchronous, so that a network
 * read of 20 events costs one step of the caller's loop rather than 20 turns of async iterators.
 */
export class SSEReader {
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private events: EventSourceMessage[] = [];
  /** The text fed last ended with `\r`, which the parser holds back in case a `\n` follows. */
  private endsWithCR = false;

  constructor() {
    this.parser = createParser({ onEvent: (e) => this.events.push(e) });
  }

  push(chunk: Uint8Array): EventSourceMessage[] {
    this.feed(this.decoder.decode(chunk, { stream: true }));
    return this.take();
  }

  /**
   * At the end of the stream: what the last bytes complete. A `\r` last was a line end after all;
   * an event without the blank line that would dispatch it is dropped.
   */
  end(): EventSourceMessage[] {
    this.feed(this.decoder.decode());
    if (this.endsWithCR) this.parser.feed('\n');
    return this.take();
  }

  private feed(text: string): void {
    if (text === '') return;
    this.parser.feed(text);
    this.endsWithCR = text.charCodeAt(text.length - 1) === 13;
  }

  private take(): EventSourceMessage[] {
    if (this.events.length === 0) return NONE;
    const out = this.events;
    this.events = [];
    return out;
  }
}
const NONE: EventSourceMessage[] = [];

/**
 * The JSON payloads of an OpenAI-style stream, with the SDK's Stream semantics, in batches: each
 * batch holds the payloads one network read completed. `[DONE]` ends it (anything after is read
 * and ignored); invalid JSON throws the SyntaxError; a payload with an `error` member throws the
 * SDK's own APIError (no status, the response's headers), so classifyError treats it as the SDK's
 * Stream would. Unlike the SDK, an `event: error` whose payload has no `error` member throws too,
 * instead of passing through as a chunk. A throw comes after the batch of the payloads before it,
 * as it would one payload at a time. `end.done` is set when `[DONE]` comes.
 */
export async function* openAIChunkBatches(
  body: AsyncIterable<Uint8Array>,
  headers: Headers,
  end: StreamEnd = { done: false },
): AsyncGenerator<unknown[]> {
  const reader = new SSEReader();
  const payloads = (events: EventSourceMessage[]): { batch: unknown[]; error?: unknown } => {
    const batch: unknown[] = [];
    for (const sse of events) {
      if (sse.data.startsWith('[DONE]')) {
        end.done = true;
        break;
      }
      try {
        const data = JSON.parse(sse.data);
        if (data?.error) throw new APIError(undefined, data.error, undefined, headers);
        if (sse.event === 'error') throw new APIError(undefined, data ?? undefined, undefined, headers);
        batch.push(data);
      } catch (error) {
        return { batch, error };
      }
    }
    return { batch };
  };
  const step = function* (events: EventSourceMessage[]) {
    const { batch, error } = payloads(events);
    if (batch.length) yield batch;
    if (error !== undefined) throw error;
  };
  for await (const chunk of body) {
    if (end.done) continue; // read to the end, as the SDK does
    yield* step(reader.push(chunk));
  }
  if (!end.done) yield* step(reader.end());
}

/**
 * Passes a stream's bytes through as they are and sets `end.done` once its `[DONE]` line has gone
 * by: for an SDK that reads the stream itself and does not say whether it saw one (Hugging Face).
 */
export function watchForDone(body: ReadableStream<Uint8Array>, end: StreamEnd): ReadableStream<Uint8Array> {
  const reader = new SSEReader();
  const saw = (events: EventSourceMessage[]) => events.some((e) => e.data.startsWith('[DONE]'));
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        if (!end.done && saw(reader.push(chunk))) end.done = true;
        out.enqueue(chunk);
      },
      flush() {
        if (!end.done && saw(reader.end())) end.done = true;
      },
    }),
  );
}
