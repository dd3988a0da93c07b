// models.test failing as a user meets it: each failure names the URL it called and the cause
// (connection refused, host not found, TLS, key rejected), from the system's own error code,
// against real things: a closed port, an unresolvable name, https to a plain HTTP server, a
// provider answering 401. The key never comes back.

import net from 'node:net';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

const KEY = 'sk-connection-test-9f8e7d6c5b4a';

describe('models.test names the URL and the cause of a failure', () => {
  let t: TestServer;
  let fake: FakeServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    fake = await startFakeOpenAI({ behavior: { fault: '401', echoKey: { into: ['error'] } } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const test = async (name: string, baseUrl: string) => {
    const m = await t.client.models.create.mutate({
      name,
      provider: 'openai',
      providerModel: 'gpt-x',
      baseUrl,
      apiKey: KEY,
    });
    const r = await t.client.models.test.mutate({ id: m.id });
    expect(JSON.stringify(r)).not.toContain(KEY);
    if (r.ok) throw new Error(`${name}: the test call succeeded`);
    return r;
  };

  it('a closed port: connection refused (ECONNREFUSED) at that URL', async () => {
    const port = await closedPort();
    const r = await test('refused', `http://127.0.0.1:${port}/v1`);
    expect(r.url).toBe(`http://127.0.0.1:${port}/v1`);
    expect(r.error.code).toBe('ECONNREFUSED');
    expect(r.cause).toMatch(/^connection refused \(ECONNREFUSED\)/);
    expect(r.error.message).toContain(`127.0.0.1:${port}`);
  });

  it('a host no DNS knows: host not found', async () => {
    const r = await test('dns', 'http://nonexistent.invalid/v1');
    expect(r.url).toBe('http://nonexistent.invalid/v1');
    expect(r.cause).toMatch(/^host not found \(DNS: (ENOTFOUND|EAI_AGAIN)\)/);
  });

  it('https to a server speaking plain HTTP: TLS failed, with the TLS error', async () => {
    const port = new URL(fake.url).port;
    const r = await test('tls', `https://127.0.0.1:${port}/v1`);
    expect(r.url).toBe(`https://127.0.0.1:${port}/v1`);
    expect(r.error.type).toBe('connection');
    expect(r.cause).toMatch(/^TLS failed \((ERR_SSL_\w+|EPROTO)\)/);
  });

  it('a provider refusing the key: key rejected (HTTP 401), the echoed key redacted', async () => {
    const r = await test('auth', `${fake.url}/v1`);
    expect(r.url).toBe(`${fake.url}/v1`);
    expect([r.error.type, r.error.httpStatus]).toEqual(['auth', 401]);
    expect(r.cause).toBe('the key was rejected (HTTP 401)');
  });
});

/** A port nothing listens on: one the system gave us, closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
