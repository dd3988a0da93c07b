// Prisma's debug module (@prisma/debug) keeps the arguments of its last 100 calls in a module-level
// array, DEBUG set or not, for its error reports; and the driver adapters call it once per query
// with the whole query: the SQL, every bound value and a type tag per value. So the last 100
// statements' arguments stay alive: after inserting 100,000 prompts as multi-row statements they
// were ~50 MB; during a run they outlive the young generation and were ~15% of what it promoted
// to the old one. The adapters' debug module is theirs, so we reach the very instance they load
// and empty its history after each query. (Prisma's client runtime bundles a copy of its own,
// not exported, that keeps each raw query's SQL and values as one string: there, only fewer and
// smaller bound values help.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';

type Clear = () => void;
export interface DebugHistory {
  getLogs(): string;
  clearLogs: Clear;
}
const cache = new Map<string, Promise<DebugHistory | null>>();

/**
 * The history of the @prisma/debug an adapter package uses (through @prisma/driver-adapter-utils),
 * in its ESM build, which is the one an ESM import of the adapter loads. Null if not found.
 */
export function debugHistoryOf(adapterPackage: string): Promise<DebugHistory | null> {
  let found = cache.get(adapterPackage);
  if (!found) cache.set(adapterPackage, (found = locate(adapterPackage)));
  return found;
}

async function locate(adapterPackage: string): Promise<DebugHistory | null> {
  try {
    // Resolved step by step from each package's own location, as Node resolves their imports.
    const adapter = createRequire(import.meta.url).resolve(adapterPackage);
    const utils = createRequire(adapter).resolve('@prisma/driver-adapter-utils');
    // That gives the CommonJS entry; the package's "import" export is the instance ESM code shares.
    for (let dir = dirname(createRequire(utils).resolve('@prisma/debug')); dirname(dir) !== dir; dir = dirname(dir)) {
      const pkg = readPackage(join(dir, 'package.json'));
      if (!pkg) continue;
      const entry = pkg.name === '@prisma/debug' ? pkg.exports?.['.']?.import?.default : undefined;
      if (!entry) return null;
      const mod = (await import(pathToFileURL(join(dir, entry)).href)) as Partial<DebugHistory>;
      return typeof mod.clearLogs === 'function' && typeof mod.getLogs === 'function' ? { getLogs: mod.getLogs, clearLogs: mod.clearLogs } : null;
    }
    return null;
  } catch {
    return null;
  }
}

interface PackageJson {
  name?: string;
  exports?: { '.'?: { import?: { default?: string } } };
}
function readPackage(file: string): PackageJson | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

const QUERIES = new Set<PropertyKey>(['queryRaw', 'executeRaw', 'executeScript', 'commit', 'rollback']);

/** `target` with `clear()` run after each of its queries settles; transactions it starts likewise. */
function clearingAfterQueries<T extends object>(target: T, clear: Clear): T {
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'startTransaction')
        return async (...args: unknown[]) => clearingAfterQueries((await fn.apply(t, args)) as Transaction, clear);
      if (!QUERIES.has(prop)) return fn.bind(t);
      return async (...args: unknown[]) => {
        try {
          return await fn.apply(t, args);
        } finally {
          clear();
        }
      };
    },
  });
}

/** The adapter factory, its connections forgetting each query's arguments once it is done. */
export async function forgetQueryArguments<F extends SqlDriverAdapterFactory>(factory: F, adapterPackage: string): Promise<F> {
  const history = await debugHistoryOf(adapterPackage);
  if (!history) return factory;
  const clear = history.clearLogs;
  return new Proxy(factory, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop !== 'connect' && prop !== 'connectToShadowDb') return fn.bind(t);
      return async () => clearingAfterQueries((await fn.apply(t)) as SqlDriverAdapter, clear);
    },
  });
}
