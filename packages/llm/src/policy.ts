// Where a call may send a key, and which key: the environment variables a model may name as its
// credential, and the hosts a model may call. The API checks a model against it when the model
// is saved; the LLM client checks again before every call, so a row written some other way
// (Prisma Studio, an older version, a run snapshotted before a setting changed) cannot send
// $PATH, or a key to a host the operator did not list.
import type { Provider, ResolvedModel } from './types.js';

/** Plain data (it crosses to the LLM worker thread): the operator's settings. */
export interface CallPolicySpec {
  /** Variable names allowed beyond the defaults (BATCHLIGHT_CREDENTIAL_ENVS). */
  credentialEnvs?: readonly string[];
  /** `host` or `host:port` entries models may call; absent = any host (BATCHLIGHT_PROVIDER_HOSTS). */
  providerHosts?: readonly string[] | null;
}

export const DEFAULT_CREDENTIAL_ENVS: readonly string[] = ['OPENAI_API_KEY', 'HF_TOKEN'];
export const CREDENTIAL_ENV_PREFIX = 'LLM_KEY_';
/** The host a model without a baseUrl calls. */
export const DEFAULT_PROVIDER_HOSTS: Readonly<Record<Provider, string | null>> = {
  openai: 'api.openai.com',
  huggingface: 'router.huggingface.co',
  simulated: null,
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The server's own settings and the process's environment: never a model's key, whatever the
// operator's list says (this list wins over it).
const DENIED_NAMES = new Set([
  'DATABASE_URL',
  'REDIS_URL',
  'PATH',
  'HOME',
  'PWD',
  'OLDPWD',
  'SHELL',
  'USER',
  'LOGNAME',
  'HOSTNAME',
  'HOST',
  'PORT',
  'TMPDIR',
  'LANG',
  'INIT_CWD',
  'TEST_PG_URL',
]);
const DENIED_PREFIXES = ['BATCHLIGHT_', 'NODE_', 'NPM_', 'PG', 'LD_', 'DYLD_', 'PRISMA_', 'TURBO_', 'PNPM_'];

export function isDeniedCredentialEnv(name: string): boolean {
  const upper = name.toUpperCase();
  return DENIED_NAMES.has(upper) || DENIED_PREFIXES.some((p) => upper.startsWith(p));
}

/** `host[:port]` of a provider-hosts entry, or null when it is not one. Lower-cased, IPs normalised. */
export function parseHostEntry(entry: string): { hostname: string; port: string | null } | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  if (!m) return null;
  try {
    const hostname = new URL(`http://${m[1]}`).hostname;
    const port = m[2] ?? null;
    if (port !== null && Number(port) > 65535) return null;
    return { hostname, port };
  } catch {
    return null;
  }
}

export class CallPolicy {
  private readonly extraEnvs: Set<string>;
  private readonly hosts: Array<{ hostname: string; port: string | null }> | null;

  constructor(readonly spec: CallPolicySpec = {}) {
    this.extraEnvs = new Set(spec.credentialEnvs ?? []);
    this.hosts = spec.providerHosts
      ? spec.providerHosts.map((h) => {
          const parsed = parseHostEntry(h);
          if (!parsed) throw new Error(`provider host "${h}" is not a host or host:port`);
          return parsed;
        })
      : null;
  }

  /** Why a model may not name `name` as its key variable, or null when it may. */
  credentialEnvProblem(name: string): string | null {
    if (!ENV_NAME.test(name)) return 'must be an environment variable name';
    if (isDeniedCredentialEnv(name))
      return `${name} is one of the server's own settings and can never be a model's key`;
    if (DEFAULT_CREDENTIAL_ENVS.includes(name) || name.startsWith(CREDENTIAL_ENV_PREFIX) || this.extraEnvs.has(name))
      return null;
    return (
      `${name} is not a key variable this server allows: use OPENAI_API_KEY, HF_TOKEN or a name starting with ` +
      `${CREDENTIAL_ENV_PREFIX}, or have the operator add it to BATCHLIGHT_CREDENTIAL_ENVS`
    );
  }

  /** Why a model of `provider` may not call `baseUrl` (null: the provider's default host), or null. */
  hostProblem(provider: Provider, baseUrl: string | null): string | null {
    const implicit = DEFAULT_PROVIDER_HOSTS[provider];
    if (!implicit) return null; // the simulator calls no host
    let url: URL;
    try {
      url = new URL(baseUrl || `https://${implicit}`);
    } catch {
      return 'must be an http(s) URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
    if (url.username || url.password)
      return 'must not carry a user name or password (give the key as apiKey or credentialEnv)';
    if (!this.hosts) return null;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (this.hosts.some((h) => h.hostname === url.hostname && (h.port === null || h.port === port))) return null;
    return `${url.host} is not a host this server lets models call (BATCHLIGHT_PROVIDER_HOSTS)`;
  }

  /** The first reason `model` may not be called, with the model field it is about. */
  refusal(
    model: Pick<ResolvedModel, 'provider' | 'baseUrl' | 'credential'>,
  ): { field: 'credentialEnv' | 'baseUrl'; message: string } | null {
    if (model.credential.kind === 'env') {
      const problem = this.credentialEnvProblem(model.credential.name);
      if (problem) return { field: 'credentialEnv', message: problem };
    }
    const problem = this.hostProblem(model.provider, model.baseUrl);
    return problem ? { field: 'baseUrl', message: problem } : null;
  }
}

/**
 * Where a model's calls go, as a user would recognise it: its baseUrl without userinfo, query or
 * fragment (any may carry a key), else its provider's own API; null for the simulator and for a
 * baseUrl that is not a URL.
 */
export function endpointOf(model: Pick<ResolvedModel, 'provider' | 'baseUrl'>): string | null {
  if (model.baseUrl) {
    try {
      const url = new URL(model.baseUrl);
      // Where the call went, never what rode along: userinfo, a query (`?api-key=`) or a fragment
      // may carry a key.
      url.username = '';
      url.password = '';
      url.search = '';
      url.hash = '';
      return url.href.replace(/\/$/, '');
    } catch {
      return null;
    }
  }
  const host = DEFAULT_PROVIDER_HOSTS[model.provider];
  return host ? `https://${host}` : null;
}
