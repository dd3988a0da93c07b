import OpenAI from 'openai';
import { InvalidResponseError } from '../errors.js';
import { keyHash } from '../model.js';
import { createPooledFetch, type PooledRequestInit } from './pooled-fetch.js';
import type { Adapter, AdapterResult, StreamEnd } from './shared.js';
import { costFromUsage, nonEmpty, StreamFold, usageFromOpenAI } from './shared.js';
import { openAIChunkBatches } from './sse.js';

/**
 * OpenAI and OpenAI-compatible endpoints through the official SDK. SDK clients are cached in a
 * Map owned by one LlmClient, keyed by provider + baseUrl + sha256(apiKey). They share one
 * pooled node:http fetch (keep-alive) unless the caller gave a fetch; streams are read from the
 * raw response with our SSE decoder. Both only to spend less CPU per call (see pooled-fetch.ts).
 */
export function createOpenAIAdapter(opts: { fetch?: typeof fetch }): Adapter {
  const clients = new Map<string, OpenAI>();
  const fetchImpl = opts.fetch ?? createPooledFetch();
  // Our fetch keeps CallRequest.pace just before the socket write; with any other fetch it is
  // kept before the SDK starts (a few hundred microseconds earlier).
  const hookInFetch = !opts.fetch;
  // A run calls with one frozen model thousands of times: remember its client, and hash its key
  // (sha256, for the cache key) once instead of per call.
  const lastFor = new WeakMap<object, { apiKey: string | undefined; client: OpenAI }>();
  const clientFor = (model: object, baseUrl: string | null, apiKey: string | undefined): OpenAI => {
    const last = lastFor.get(model);
    if (last && last.apiKey === apiKey) return last.client;
    const key = `openai|${baseUrl ?? ''}|${keyHash(apiKey)}`;
    let c = clients.get(key);
    if (!c) {
      c = new OpenAI({
        baseURL: baseUrl ?? undefined,
        // The SDK refuses to start without a key; local OpenAI-compatible servers ignore it.
        apiKey: apiKey ?? 'no-key',
        maxRetries: 0,
        // The SDK's own logging could print request/response details; we report through outcomes.
        logLevel: 'off',
        fetch: fetchImpl,
      });
      clients.set(key, c);
    }
    lastFor.set(model, { apiKey, client: c });
    return c;
  };

  return async (call) => {
    const { model, params } = call;
    const client = clientFor(model, model.baseUrl, call.apiKey);
    const body: Record<string, unknown> = {
      model: model.providerModel,
      messages: call.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (params.temperature != null) body.temperature = params.temperature;
    if (params.topP != null) body.top_p = params.topP;
    if (params.maxTokens != null) {
      // api.openai.com wants max_completion_tokens (reasoning models reject max_tokens); most
      // OpenAI-compatible servers only know max_tokens.
      if (model.baseUrl == null) body.max_completion_tokens = params.maxTokens;
      else body.max_tokens = params.maxTokens;
    }
    const reqOpts = {
      signal: call.signal,
      timeout: call.timeoutMs + 1_000,
      maxRetries: 0,
      // The SDK passes fetchOptions through to the fetch as they are.
      ...(hookInFetch
        ? {
            fetchOptions: { beforeSend: call.beforeSend, sent: call.sent } satisfies PooledRequestInit as NonNullable<
              OpenAI.RequestOptions['fetchOptions']
            >,
          }
        : {}),
    };
    if (!hookInFetch) await call.beforeSend();

    if (params.stream === false) {
      const { data, response } = await (
        client.chat.completions.create({ ...body, stream: false } as any, reqOpts) as any
      ).withResponse();
      const d = data as any;
      if (!d || typeof d !== 'object' || !Array.isArray(d.choices) || d.choices.length === 0) {
        throw new InvalidResponseError(`invalid response: no choices (status ${response.status})`);
      }
      const choice = d.choices[0];
      const content = choice?.message?.content;
      const output = typeof content === 'string' ? content : '';
      return {
        output,
        outputChars: output.length,
        responseModel: nonEmpty(d.model),
        servedBy: nonEmpty(d.provider) ?? nonEmpty(response.headers.get('x-inference-provider')),
        usage: usageFromOpenAI(d.usage),
        providerCostUsd: costFromUsage(d.usage),
        finishReason: nonEmpty(choice?.finish_reason),
      } satisfies AdapterResult;
    }

    // Non-2xx still throws the SDK's APIError (status, headers) before we get the response.
    const response: Response = await (
      client.chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } } as any,
        reqOpts,
      ) as any
    ).asResponse();
    if (!response.body) throw new InvalidResponseError('invalid response: stream without a body');
    const fold = new StreamFold(call.markFirstToken, call.maxOutputChars);
    const end: StreamEnd = { done: false };
    for await (const batch of openAIChunkBatches(response.body, response.headers, end) as AsyncIterable<unknown[]>) {
      for (const chunk of batch) fold.add(chunk);
    }
    fold.end(end.done);
    return {
      output: fold.output,
      outputChars: fold.outputChars,
      responseModel: fold.responseModel,
      servedBy: nonEmpty(response.headers.get('x-inference-provider')) ?? fold.servedBy,
      usage: usageFromOpenAI(fold.usageRaw),
      providerCostUsd: costFromUsage(fold.usageRaw),
      finishReason: fold.finishReason,
    } satisfies AdapterResult;
  };
}
