// Keys cannot be redirected: a model may name only the key variables the operator allowed, a model
// holding a key cannot be pointed elsewhere without its key, the operator can restrict the hosts
// models call, and a row that breaks these rules however it was written (Prisma Studio, an older
// version, a run snapshotted before) sends nothing. "Nothing was sent" is checked at the fake.

import { resolveRegistryModel } from '@batchlight/engine';
import { CallPolicy } from '@batchlight/llm';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';
import { allItems, failure, promptSet, startTestServer, type TestServer, waitFor } from './helpers.js';

const STORED_KEY = 'sk-stored-key-that-must-stay-home-0123';

describe('credentials and hosts', () => {
  let t: TestServer;
  let home: FakeServer;
  let elsewhere: FakeServer;
  beforeAll(async () => {
    [t, home, elsewhere] = await Promise.all([
      startTestServer('sqlite', {
        env: { OPENAI_API_KEY: 'seed-it', HF_TOKEN: 'seed-it', BATCHLIGHT_CREDENTIAL_ENVS: 'TEAM_SHARED_KEY' },
      }),
      startFakeOpenAI({ behavior: { latencyMs: 2 } }),
      startFakeOpenAI({ behavior: { latencyMs: 2 } }),
    ]);
    process.env.LLM_KEY_HOME = 'sk-home-key-0000';
    process.env.TEAM_SHARED_KEY = 'sk-team-key-0000';
  });
  afterAll(async () => {
    await Promise.all([t?.close(), home?.close(), elsewhere?.close()]);
  });

  const base = (name: string, over: Record<string, unknown> = {}) => ({
    name,
    provider: 'openai' as const,
    providerModel: 'gpt-test',
    baseUrl: `${home.url}/v1`,
    ...over,
  });

  it('refuses a credentialEnv naming server settings or the process environment: 400 naming the field', async () => {
    const c = t.client;
    const before = (await c.models.list.query({ includeArchived: true })).length;
    for (const name of [
      'BATCHLIGHT_SECRET_KEY',
      'BATCHLIGHT_TOKEN',
      'PATH',
      'DATABASE_URL',
      'REDIS_URL',
      'HOME',
      'NODE_OPTIONS',
      'PGPASSWORD',
      'SOME_OTHER_VAR',
    ]) {
      const err = await failure(c.models.create.mutate(base(`env-${name}`, { credentialEnv: name })));
      expect([err.code, Object.keys(err.fieldErrors)], name).toEqual(['BAD_REQUEST', ['credentialEnv']]);
    }
    expect((await c.models.list.query({ includeArchived: true })).length).toBe(before);
    for (const name of ['OPENAI_API_KEY', 'HF_TOKEN', 'LLM_KEY_HOME', 'TEAM_SHARED_KEY']) {
      expect((await c.models.create.mutate(base(`env-ok-${name}`, { credentialEnv: name }))).credentialHint).toBe(
        `$${name}`,
      );
    }
    // And on update.
    const m = await c.models.create.mutate(base('env-update', { credentialEnv: 'LLM_KEY_HOME' }));
    expect((await failure(c.models.update.mutate({ id: m.id, credentialEnv: 'PATH' }))).fieldErrors).toHaveProperty(
      'credentialEnv',
    );
  });

  it('refuses to repoint a model holding a key without the key in the same call, and nothing is sent', async () => {
    const c = t.client;
    const stored = await c.models.create.mutate(base('stored-key', { apiKey: STORED_KEY }));
    const env = await c.models.create.mutate(base('env-key', { credentialEnv: 'LLM_KEY_HOME' }));
    const gpt = (await c.models.list.query()).find((m) => m.name === 'GPT-5 Mini')!;
    expect(gpt).toBeDefined();
    for (const [m, field] of [
      [stored, 'apiKey'],
      [env, 'credentialEnv'],
      [gpt, 'credentialEnv'],
    ] as const) {
      const moved = await failure(c.models.update.mutate({ id: m.id, baseUrl: `${elsewhere.url}/v1` }));
      expect([moved.code, Object.keys(moved.fieldErrors)], m.name).toEqual(['BAD_REQUEST', [field]]);
      const switched = await failure(c.models.update.mutate({ id: m.id, provider: 'huggingface' }));
      expect(Object.keys(switched.fieldErrors), m.name).toEqual([field]);
      expect((await c.models.get.query({ id: m.id })).revision, m.name).toBe(m.revision);
    }
    for (const m of [stored, env]) expect((await c.models.test.mutate({ id: m.id })).ok).toBe(true);
    expect(elsewhere.total()).toBe(0);
    expect(home.total()).toBe(2);
    // With the key given again, the model moves.
    const moved = await c.models.update.mutate({
      id: stored.id,
      baseUrl: `${elsewhere.url}/v1`,
      apiKey: 'sk-a-new-key-for-elsewhere',
    });
    expect(moved.baseUrl).toBe(`${elsewhere.url}/v1`);
    expect((await c.models.test.mutate({ id: stored.id })).ok).toBe(true);
    expect(elsewhere.total()).toBe(1);
  });

  it('keeps the seeded models callable under the default policy', async () => {
    const config = loadConfig({});
    const policy = new CallPolicy(config.policy);
    const seeded = await t.server.engine.db.prisma.model.findMany({
      where: { name: { in: ['GPT-5 Mini', 'Qwen2.5 7B Instruct', 'Simulated Fast'] } },
    });
    expect(seeded).toHaveLength(3);
    for (const row of seeded) expect(policy.refusal(resolveRegistryModel(row)), row.name).toBeNull();
    const restricted = new CallPolicy(
      loadConfig({ BATCHLIGHT_PROVIDER_HOSTS: 'api.openai.com,router.huggingface.co' }).policy,
    );
    for (const row of seeded) expect(restricted.refusal(resolveRegistryModel(row)), row.name).toBeNull();
  });

  it('sends nothing for a row written around the API: a run, a chat, a resumed snapshot', async () => {
    const c = t.client;
    const prisma = t.server.engine.db.prisma;
    // A model row as Prisma Studio or an older version could have written it.
    const row = await prisma.model.create({
      data: {
        name: 'studio-path',
        provider: 'openai',
        providerModel: 'gpt-test',
        baseUrl: `${home.url}/v1`,
        credentialEnv: 'PATH',
        params: {},
      },
    });
    const set = await promptSet(c, 6);
    home.reset();
    expect(
      (await failure(c.runs.create.mutate({ promptSetId: set.id, modelIds: [row.id], concurrency: 2, delayMs: 0 })))
        .fieldErrors,
    ).toHaveProperty('modelIds');
    expect(
      (await failure(c.chat.send.mutate({ modelId: row.id, messages: [{ role: 'user', content: 'hi' }] }))).fieldErrors,
    ).toHaveProperty('modelId');
    expect((await failure(c.models.test.mutate({ id: row.id }))).fieldErrors).toHaveProperty('id');

    // A run whose snapshot names PATH (made before this rule): its calls fail, none goes out.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    home.setBehavior({ latencyMs: 2, gate: () => held });
    const ok = await c.models.create.mutate(base('snapshot-path', { credentialEnv: 'LLM_KEY_HOME' }));
    const run = await c.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [ok.id],
      concurrency: 1,
      delayMs: 0,
      maxRetries: 0,
    });
    await waitFor(async () => home.inFlight() > 0);
    await c.runs.cancel.mutate({ id: run.id });
    release();
    await prisma.runModel.update({
      where: { runId_modelId: { runId: run.id, modelId: ok.id } },
      data: { credentialEnv: 'PATH' },
    });
    home.reset();
    home.setBehavior({ latencyMs: 2 });
    await c.runs.resume.mutate({ id: run.id });
    const done = await waitFor(async () => {
      const r = await c.runs.get.query({ id: run.id });
      return !r.executing && r;
    });
    expect([done.status, done.failedItems]).toEqual(['completed', 6]);
    const items = await allItems(c, run.id);
    expect(items.every((i) => i.status === 'failed')).toBe(true);
    for (const i of items)
      expect(i.trace!.errorMessage).toMatch(
        /^credentialEnv: PATH is one of the server's own settings.*nothing was sent$/,
      );
    expect(home.total()).toBe(0);
  });

  it('with BATCHLIGHT_PROVIDER_HOSTS, saves and calls only models on the listed hosts', async () => {
    const port = new URL(home.url).port;
    elsewhere.reset();
    const r = await startTestServer('sqlite', {
      env: { BATCHLIGHT_PROVIDER_HOSTS: `api.openai.com,router.huggingface.co,127.0.0.1:${port}` },
    });
    try {
      const c = r.client;
      expect((await c.models.create.mutate(base('listed', { credentialEnv: 'LLM_KEY_HOME' }))).id).toBeTruthy();
      const other = await failure(
        c.models.create.mutate(base('unlisted', { baseUrl: `${elsewhere.url}/v1`, credentialEnv: 'LLM_KEY_HOME' })),
      );
      expect([other.code, Object.keys(other.fieldErrors)]).toEqual(['BAD_REQUEST', ['baseUrl']]);
      expect(other.message).toMatch(/BATCHLIGHT_PROVIDER_HOSTS/);
      const listed = (await c.models.list.query()).find((m) => m.name === 'listed')!;
      expect(
        (
          await failure(
            c.models.update.mutate({ id: listed.id, baseUrl: `${elsewhere.url}/v1`, credentialEnv: 'LLM_KEY_HOME' }),
          )
        ).fieldErrors,
      ).toHaveProperty('baseUrl');
      // A row pointing elsewhere, written around the API: refused before a call.
      const row = await r.server.engine.db.prisma.model.create({
        data: {
          name: 'studio-elsewhere',
          provider: 'openai',
          providerModel: 'x',
          baseUrl: `${elsewhere.url}/v1`,
          credentialEnv: 'LLM_KEY_HOME',
          params: {},
        },
      });
      expect(
        (await failure(c.chat.send.mutate({ modelId: row.id, messages: [{ role: 'user', content: 'hi' }] }))).message,
      ).toMatch(/^modelId: baseUrl: /);
      expect(elsewhere.total()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('refuses to start with BATCHLIGHT_CREDENTIAL_ENVS naming a server setting', () => {
    for (const bad of ['BATCHLIGHT_SECRET_KEY', 'OK_KEY,PATH', 'DATABASE_URL', 'not a name']) {
      expect(() => loadConfig({ BATCHLIGHT_CREDENTIAL_ENVS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ BATCHLIGHT_CREDENTIAL_ENVS: bad }), bad).toThrow(/^BATCHLIGHT_CREDENTIAL_ENVS: /);
    }
    expect(() => loadConfig({ BATCHLIGHT_PROVIDER_HOSTS: 'http://x/y' })).toThrow(/^BATCHLIGHT_PROVIDER_HOSTS: /);
    expect(loadConfig({ BATCHLIGHT_CREDENTIAL_ENVS: 'A_KEY, B_KEY' }).policy.credentialEnvs).toEqual([
      'A_KEY',
      'B_KEY',
    ]);
  });

  it("reads DATABASE_URL through the database package's setting (its rule, its message)", () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      expect.objectContaining({ setting: 'DATABASE_URL' }),
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL: must start with file: \(SQLite\)/);
    expect(loadConfig({}).databaseUrl).toBe('file:./data/batchlight.db');
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@h/db' }).databaseUrl).toBe('postgresql://u:p@h/db');
  });
});
