// `batchlight models add`: registers a model.
import { price, providerName } from '@batchlight/api/schemas';
import { alternatives, decimalNumber, defineCommand, jsonObject, oneOf } from '../args.js';
import { createOnce } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { print } from '../format.js';

const PROVIDERS = providerName.options;

export const modelsAdd = defineCommand({
  name: 'models add',
  usage:
    `--name N --provider ${PROVIDERS.join('|')} --provider-model M [--base-url URL]\n` +
    '    [--credential-env VAR | --api-key KEY] [--params JSON] [--price-in USD] [--price-out USD] [--price-cached USD]',
  description: 'add a model to the registry (prices per million tokens)',
  options: [
    'name',
    'provider',
    'provider-model',
    'base-url',
    'credential-env',
    'api-key',
    'params',
    'price-in',
    'price-out',
    'price-cached',
  ],
  async run(ctx, v) {
    const provider = oneOf('provider', v.provider, PROVIDERS);
    if (!provider) throw new CliError(`--provider: ${alternatives(PROVIDERS)}`);
    const { name, 'provider-model': providerModel } = v;
    if (!name) throw new CliError('--name: required');
    if (!providerModel)
      throw new CliError('--provider-model: required (the model id sent to the provider, e.g. gpt-5-mini)');
    const params = jsonObject('params', v.params) ?? {};
    const pricing = {
      inputPerMTok: decimalNumber('price-in', v['price-in'], price) ?? null,
      outputPerMTok: decimalNumber('price-out', v['price-out'], price) ?? null,
      cachedInputPerMTok: decimalNumber('price-cached', v['price-cached'], price) ?? null,
    };
    const m = await createOnce((requestId) =>
      ctx.client.models.create.mutate({
        name,
        provider,
        providerModel,
        baseUrl: v['base-url'] ?? null,
        credentialEnv: v['credential-env'] ?? null,
        apiKey: v['api-key'] ?? null,
        params,
        pricing,
        requestId,
      }),
    );
    print(ctx.json, m, () => `added model ${m.name} (${m.id})`);
    return EXIT.ok;
  },
});
