import { call } from '../support/http';
import { tenantKey } from '../support/sessions';
import { ADMIN_KEY, bootFor } from '../support/topology';

/** Without WEBHOOK_ALLOW_PRIVATE, a webhook URL must resolve to public addresses only (SSRF guard). */
describe('webhook URLs without WEBHOOK_ALLOW_PRIVATE', () => {
  const booted = bootFor('embedded');
  let key: string;
  const create = (url: string) => call(`${booted.server.url}/webhooks`, { method: 'POST', key, body: { url, events: ['*'] } });

  beforeAll(async () => {
    key = await tenantKey(booted.server.url, ADMIN_KEY, 'private-urls');
  });

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook', '127.0.0.1'],
    ['a name for loopback', 'http://localhost:8080/hook', ''],
    ['IPv6 loopback', 'http://[::1]:8080/hook', '::1'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['a private network', 'https://10.1.2.3/hook', '10.1.2.3'],
  ])('refuses %s with a 400 naming url', async (_what, url, address) => {
    const answer = await create(url);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'url' }] });
    expect(answer.body.error.details[0].problems[0]).toContain(`resolves to ${address}`);
    expect(answer.body.error.details[0].problems[0]).toContain('WEBHOOK_ALLOW_PRIVATE');
  });

  it('accepts a public address, and refuses a change to a private one', async () => {
    const created = await create('http://93.184.216.34/hook');
    expect(created).toMatchObject({ status: 201, body: { url: 'http://93.184.216.34/hook', enabled: true } });
    const patched = await call(`${booted.server.url}/webhooks/${created.body.id}`, { method: 'PATCH', key, body: { url: 'http://192.168.1.10/hook' } });
    expect(patched).toMatchObject({ status: 400, body: { error: { details: [{ field: 'url' }] } } });
    expect((await call(`${booted.server.url}/webhooks/${created.body.id}`, { key })).body.url).toBe('http://93.184.216.34/hook');
  });
});
