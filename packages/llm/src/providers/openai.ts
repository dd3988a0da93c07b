import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import { InvalidResponseError } from '../errors.js';
import { keyHash } from '../model.js';
import type { Adapter, AdapterResult, StreamEnd } from './shared.js';
import { type CompletionLike, costFromUsage, nonEmpty, StreamFold, usageFromOpenAI } from './shared.js';
import { openAIChunkBatches } from './sse.js';
import type { Transport } from './transport.js';

/** The longest delay a Node timer takes (larger ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * OpenAI and OpenAI-compatible endpoints through the official SDK. SDK clients are cached in a
 * Map owned by one LlmClient, keyed by provider + baseUrl + sha256(apiKey), and share the
 * client's transport (keep-alive) unless the caller gave a fetch. A stream is read from the raw
 * response (sse.ts), which tells whether its `[DONE]` came: the SDK's own iterator does not.
 */
export function createOpenAIAdapter(opts: { fetch?: typeof fetch; transport: Transport }): Adapter {
  const clients = new Map<string, OpenAI>();
  const fetchImpl = opts.fetch ?? opts.transport.fetch;
  // On our transport CallRequest.pace is kept as the request goes to its connection; with any
  // other fetch, before the SDK starts (a few hundred microseconds earlier).
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
    const body: ChatCompletionCreateParamsBase = {
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
      // The call's timeout is the LlmClient's, armed at the pace turn: the SDK's own would also
      // count the wait for that turn, which runs inside its fetch here.
      timeout: MAX_TIMER_MS,
      maxRetries: 0,
      // The SDK passes fetchOptions through to the fetch as they are: undici's takes a dispatcher.
      ...(hookInFetch
        ? { fetchOptions: opts.transport.init(call) as NonNullable<OpenAI.RequestOptions['fetchOptions']> }
        : {}),
    };
    if (!hookInFetch) await call.beforeSend();

    if (params.stream === false) {
      const { data, response } = await client.chat.completions
        .create({ ...body, stream: false }, reqOpts)
        .withResponse();
      // Its headers say what is left of the key's limits (limits/headers.ts).
      call.setResponse({ status: response.status, headers: response.headers });
      // As the provider sent it, whatever the SDK's types promise.
      const d = data as unknown as CompletionLike | null;
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
    const response = await client.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, reqOpts)
      .asResponse();
    call.setResponse({ status: response.status, headers: response.headers });
    if (!response.body) throw new InvalidResponseError('invalid response: stream without a body');
    const fold = new StreamFold(call.markFirstToken, call.maxOutputChars);
    const end: StreamEnd = { done: false };
    for await (const batch of openAIChunkBatches(response.body, response.headers, end)) {
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
