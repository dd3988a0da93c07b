import { InferenceClient, type InferenceProviderOrPolicy } from '@huggingface/inference';
import { InvalidResponseError } from '../errors.js';
import { keyHash } from '../model.js';
import type { Adapter, AdapterResult, StreamEnd } from './shared.js';
import { type CompletionLike, costFromUsage, nonEmpty, StreamFold, usageFromOpenAI } from './shared.js';
import { watchForDone } from './sse.js';
import type { Transport } from './transport.js';

type ChatArgs = Parameters<InferenceClient['chatCompletion']>[0];

/**
 * Hugging Face through @huggingface/inference. With `model.baseUrl` → a dedicated Inference
 * Endpoint (`endpointUrl`); without → Inference Providers by model name (`params.hfProvider`
 * names the serving provider, else the router picks one). Always `retry_on_error: false` (the
 * SDK otherwise retries 503 forever). A per-call fetch wrapper records the HTTP status and
 * headers (Retry-After, x-inference-provider), which the SDK's errors do not carry, and sends on
 * the client's transport unless the caller gave a fetch.
 */
export function createHuggingFaceAdapter(opts: { fetch?: typeof fetch; transport: Transport }): Adapter {
  const clients = new Map<string, InferenceClient>();
  const clientFor = (baseUrl: string | null, token: string | undefined): InferenceClient => {
    const key = `huggingface|${baseUrl ?? ''}|${keyHash(token)}`;
    let c = clients.get(key);
    if (!c) {
      c = new InferenceClient(token ?? '', baseUrl ? { endpointUrl: baseUrl } : {});
      clients.set(key, c);
    }
    return c;
  };
  const given = opts.fetch;
  const transport = opts.transport;

  return async (call) => {
    const { model, params } = call;
    const client = clientFor(model.baseUrl, call.apiKey);
    let servedByHeader: string | null = null;
    // The SDK ends a stream at [DONE] and at the body's end alike: the stream is watched for it.
    const end: StreamEnd = { done: false };
    const capturingFetch: typeof fetch = async (input, init) => {
      // The chat request, not a lookup of the model's provider mapping on the Hub, keeps the pace.
      const chat = String(input instanceof Request ? input.url : input).includes('/chat/completions');
      let res: Response;
      if (given) {
        if (chat) await call.beforeSend();
        res = await given(input, init);
      } else res = await transport.fetch(input, chat ? { ...init, ...transport.init(call) } : init);
      call.setResponse({ status: res.status, headers: res.headers });
      const sb = res.headers.get('x-inference-provider');
      if (sb) servedByHeader = sb;
      if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) return res;
      const { status, statusText, headers } = res;
      return new Response(watchForDone(res.body, end), { status, statusText, headers });
    };
    const args: ChatArgs = {
      model: model.providerModel,
      messages: call.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    // The SDK checks the name against the providers it knows.
    if (!model.baseUrl && params.hfProvider) args.provider = params.hfProvider as InferenceProviderOrPolicy;
    if (params.temperature != null) args.temperature = params.temperature;
    if (params.topP != null) args.top_p = params.topP;
    if (params.maxTokens != null) args.max_tokens = params.maxTokens;
    const options = { signal: call.signal, retry_on_error: false, fetch: capturingFetch };
    const fallbackServedBy = model.baseUrl ? null : (params.hfProvider ?? null);

    if (params.stream === false) {
      // As the provider sent it, whatever the SDK's types promise.
      const d = (await client.chatCompletion(args, options)) as unknown as CompletionLike | null;
      if (!d || typeof d !== 'object' || !Array.isArray(d.choices) || d.choices.length === 0) {
        throw new InvalidResponseError('invalid response: no choices');
      }
      const choice = d.choices[0];
      const output = typeof choice?.message?.content === 'string' ? choice.message.content : '';
      return {
        output,
        outputChars: output.length,
        responseModel: nonEmpty(d.model),
        servedBy: servedByHeader ?? nonEmpty(d.provider) ?? fallbackServedBy,
        usage: usageFromOpenAI(d.usage),
        providerCostUsd: costFromUsage(d.usage),
        finishReason: nonEmpty(choice?.finish_reason),
      } satisfies AdapterResult;
    }

    args.stream_options = { include_usage: true };
    const fold = new StreamFold(call.markFirstToken, call.maxOutputChars);
    for await (const chunk of client.chatCompletionStream(args, options)) fold.add(chunk);
    fold.end(end.done);
    return {
      output: fold.output,
      outputChars: fold.outputChars,
      responseModel: fold.responseModel,
      servedBy: servedByHeader ?? fold.servedBy ?? fallbackServedBy,
      usage: usageFromOpenAI(fold.usageRaw),
      providerCostUsd: costFromUsage(fold.usageRaw),
      finishReason: fold.finishReason,
    } satisfies AdapterResult;
  };
}
