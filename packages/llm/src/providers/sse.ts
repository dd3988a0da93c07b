import { APIError } from 'openai';

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
 * Lines end at `\r\n`, `\n` or `\r`; `:` starts a comment; a blank line dispatches the event if
 * it has data or an event name (as the SDK does: an empty `data:` line dispatches `''`); an event
 * cut off by the end of the stream is dropped. `id:` and `retry:` are ignored.
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SSEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let event: string | null = null;
  let data: string[] = [];
  const lineEnd = /\r\n|\r|\n/g;
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let pos = 0;
    lineEnd.lastIndex = 0;
    for (let m = lineEnd.exec(buf); m; m = lineEnd.exec(buf)) {
      // A `\r` last in the buffer may be the first half of a `\r\n` split across chunks.
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      const line = buf.slice(pos, m.index);
      pos = lineEnd.lastIndex;
      if (line === '') {
        if (event || data.length > 0) {
          yield { event, data: data.join('\n') };
          event = null;
          data = [];
        }
        continue;
      }
      if (line.charCodeAt(0) === 58 /* : */) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
    buf = pos === buf.length ? '' : buf.slice(pos);
  }
  // A `\r` held back above ends the stream: it was a line end after all, and a blank line if alone.
  // Anything else left over is an event without the blank line that would dispatch it.
  if (buf === '\r' && (event || data.length > 0)) yield { event, data: data.join('\n') };
}

/**
 * The JSON payloads of an OpenAI-style stream, with the SDK's Stream semantics: `[DONE]` ends it
 * (anything after is read and ignored); invalid JSON throws the SyntaxError; a payload with an
 * `error` member throws the SDK's own APIError (no status, the response's headers), so
 * classifyError treats it exactly as before. Unlike the SDK, an `event: error` whose payload has
 * no `error` member throws too, instead of passing through as a chunk.
 */
export async function* openAIStreamChunks(body: AsyncIterable<Uint8Array>, headers: Headers): AsyncGenerator<unknown> {
  let done = false;
  for await (const sse of sseEvents(body)) {
    if (done) continue;
    if (sse.data.startsWith('[DONE]')) {
      done = true;
      continue;
    }
    const data = JSON.parse(sse.data);
    if (data && data.error) throw new APIError(undefined, data.error, undefined, headers);
    if (sse.event === 'error') throw new APIError(undefined, data ?? undefined, undefined, headers);
    yield data;
  }
}
