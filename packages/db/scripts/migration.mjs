// `pnpm db:migration <name>`: authors a migration for both providers from a schema change, offline.
// Prisma's native schema engine cannot be downloaded here, so this drives its WASM build (the
// same engine) through driver adapters: for each provider it diffs "the committed migrations,
// replayed on a throwaway shadow database" against the current schema, and writes the SQL to
// prisma/migrations/<provider>/<timestamp>_<name>/migration.sql. Nothing is written unless
// both diffs succeed; an unchanged schema writes nothing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// The db package: prisma/ holds the schema and the migrations.
const root = fileURLToPath(new URL('../', import.meta.url));
const PG_ADMIN_URL =
  process.env.TEST_PG_URL ?? process.env.PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const EMPTY = /^\s*(--[^\n]*\n?\s*)*$/;

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error(
    name
      ? `db:migration: invalid migration name "${name}": use only lowercase letters, digits and underscores (e.g. add_run_tags)`
      : 'usage: pnpm db:migration <name>   (lowercase letters, digits and underscores, e.g. add_run_tags)',
  );
  process.exit(2);
}

const PROVIDERS = [
  { provider: 'sqlite', dir: 'sqlite', schema: join(root, 'prisma/schema.prisma') },
  { provider: 'postgresql', dir: 'postgres', schema: join(root, 'prisma/postgres/schema.prisma') },
];

async function loadEngine() {
  // The glue of @prisma/schema-engine-wasm with the engine build that ships inside the prisma CLI.
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(pathToFileURL(gluePath).href);
  const wasmPath = join(require.resolve('prisma/package.json'), '../build/schema_engine_bg.wasm');
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return glue.SchemaEngine;
}

/** SQL left once comments are removed (string literals are not parsed: only used as a hint). */
const stripComments = (sql) =>
  sql
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .trim();

/**
 * The shadow replay sends each migration file as one executeRaw. better-sqlite3 refuses several
 * statements in one prepared statement, and also a file with none (Prisma's own
 * "-- This is an empty migration."): run those through executeScript (`db.exec`).
 */
function scriptSafe(adapter) {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = (query) => {
    if (query.args?.length) return executeRaw(query);
    const body = stripComments(query.sql).replace(/;\s*$/, '');
    return body === '' || body.includes(';') ? adapter.executeScript(query.sql).then(() => 0) : executeRaw(query);
  };
  return adapter;
}

/** A migration-aware adapter factory whose shadow database is a throwaway we own. */
async function shadowFactory(provider) {
  const { bindMigrationAwareSqlAdapterFactory } = await import(
    pathToFileURL(require.resolve('@prisma/driver-adapter-utils')).href
  );
  if (provider === 'sqlite') {
    const { PrismaBetterSqlite3 } = await import('@prisma/adapter-better-sqlite3');
    const dir = mkdtempSync(join(tmpdir(), 'batchlight-shadow-'));
    const main = new PrismaBetterSqlite3({ url: `file:${join(dir, 'main.db')}` });
    const shadow = new PrismaBetterSqlite3({ url: `file:${join(dir, 'shadow.db')}` });
    const factory = {
      provider: main.provider,
      adapterName: main.adapterName,
      connect: async () => scriptSafe(await main.connect()),
      connectToShadowDb: async () => scriptSafe(await shadow.connect()),
    };
    return {
      factory: bindMigrationAwareSqlAdapterFactory(factory),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const pg = (await import('pg')).default;
  const dbName = `batchlight_shadow_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${dbName}`;
  const shadow = new PrismaPg({ connectionString: url.toString() });
  // adapter-pg cannot describe PostgreSQL's internal "char" type (OID 18), which the engine's
  // introspection reads; its values arrive as strings, so report them as text (OID 25).
  // Its executeScript also splits a migration on every `;` (breaking `$$ … $$` bodies and string
  // literals): send the whole script as one simple query instead, as the native engine does.
  const charAsText = async () => {
    const conn = await shadow.connect();
    const performIO = conn.performIO.bind(conn);
    conn.performIO = async (...args) => {
      const r = await performIO(...args);
      for (const f of r.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return r;
    };
    conn.executeScript = async (script) => {
      try {
        await conn.client.query(script);
      } catch (err) {
        conn.onError(err);
      }
    };
    return conn;
  };
  const factory = {
    provider: shadow.provider,
    adapterName: shadow.adapterName,
    connect: charAsText,
    connectToShadowDb: charAsText,
  };
  return {
    factory: bindMigrationAwareSqlAdapterFactory(factory),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await c.end();
    },
  };
}

function migrationList(dir) {
  const baseDir = join(root, 'prisma/migrations', dir);
  const lockPath = join(baseDir, 'migration_lock.toml');
  const folders = existsSync(baseDir)
    ? readdirSync(baseDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(baseDir, d.name, 'migration.sql')))
        .map((d) => d.name)
        .sort()
    : [];
  return {
    baseDir,
    lockfile: { path: lockPath, content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: folders.map((path) => ({
      path,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: readFileSync(join(baseDir, path, 'migration.sql'), 'utf8') },
      },
    })),
  };
}

async function diffFor(SchemaEngine, { provider, dir, schema }) {
  const content = readFileSync(schema, 'utf8');
  const list = migrationList(dir);
  const { factory, cleanup } = await shadowFactory(provider);
  try {
    const engine = await SchemaEngine.new({ datamodels: [[schema, content]] }, () => {}, factory);
    const result = await engine.diff({
      from: list.migrationDirectories.length ? { tag: 'migrations', ...list } : { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: schema, content }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? '';
  } finally {
    await cleanup();
  }
}

const lockfileFor = (provider) =>
  `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`;

try {
  // The PostgreSQL schema is derived from the source one: make sure it is current first.
  execFileSync(process.execPath, [fileURLToPath(new URL('./derive-postgres-schema.mjs', import.meta.url))], {
    stdio: 'ignore',
  });
  const SchemaEngine = await loadEngine();
  const diffs = [];
  for (const p of PROVIDERS) diffs.push({ ...p, sql: await diffFor(SchemaEngine, p) });
  if (diffs.every((d) => EMPTY.test(d.sql))) {
    console.log('No schema changes: nothing written.');
    process.exit(0);
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = `${stamp}_${name}`;
  const staged = [];
  for (const d of diffs) {
    const base = join(root, 'prisma/migrations', d.dir);
    mkdirSync(base, { recursive: true });
    const tmp = join(base, `.${folder}.tmp`);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'migration.sql'), EMPTY.test(d.sql) ? '-- This is an empty migration.\n' : d.sql);
    staged.push({ tmp, final: join(base, folder), base, provider: d.provider });
  }
  for (const s of staged) {
    renameSync(s.tmp, s.final);
    if (!existsSync(join(s.base, 'migration_lock.toml')))
      writeFileSync(join(s.base, 'migration_lock.toml'), lockfileFor(s.provider));
    console.log(`wrote ${s.final.slice(root.length)}/migration.sql`);
  }
} catch (err) {
  for (const p of PROVIDERS) {
    const base = join(root, 'prisma/migrations', p.dir);
    if (existsSync(base))
      for (const f of readdirSync(base))
        if (f.startsWith('.') && f.endsWith('.tmp')) rmSync(join(base, f), { recursive: true, force: true });
  }
  console.error(`db:migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
