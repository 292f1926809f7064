import { call } from '../support/http';
import { ADMIN_KEY, bootFor, DATABASE_KINDS } from '../support/topology';

describe.each(DATABASE_KINDS)('tenants and API keys on the %s database', (kind) => {
  const booted = bootFor(kind);
  const url = (path: string) => `${booted.server.url}${path}`;
  const createTenant = async (name: string) => {
    const answer = await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name } });
    expect(answer.status).toBe(201);
    return answer.body as { id: string; name: string; createdAt: string };
  };
  const issueKey = async (tenantId: string) => {
    const answer = await call(url(`/tenants/${tenantId}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: { name: 'crm' } });
    expect(answer.status).toBe(201);
    return answer.body as { id: string; key: string; prefix: string };
  };

  it('needs a key on every non-health route, and says which is wrong', async () => {
    expect((await call(url('/health'))).status).toBe(200);
    const missing = await call(url('/tenants'));
    expect(missing).toMatchObject({ status: 401, body: { error: { code: 'api_key_missing' } } });
    const wrong = await call(url('/tenants'), { key: 'wfk_not-a-real-key' });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'api_key_invalid' } } });
  });

  it('runs a key through its life: create, use, list by prefix only, revoke', async () => {
    const tenant = await createTenant(`acme-${kind}`);
    expect(tenant).toMatchObject({ name: `acme-${kind}`, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(new Date(tenant.createdAt).toISOString()).toBe(tenant.createdAt);

    const issued = await issueKey(tenant.id);
    expect(issued.key.startsWith(issued.prefix)).toBe(true);
    expect((await call(url(`/tenants/${tenant.id}`), { key: issued.key })).status).toBe(200);

    const listed = await call(url(`/tenants/${tenant.id}/api-keys`), { key: issued.key });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({ id: issued.id, prefix: issued.prefix, revokedAt: null });
    expect(listed.body.data[0].lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(issued.key);

    if (booted.database) {
      const rows = await booted.database.query(`SELECT * FROM api_keys`);
      expect(rows.length).toBeGreaterThan(0);
      const stored = JSON.stringify(rows.map((row) => ({ ...row, key_hash: (row.key_hash as Buffer).toString('latin1') })));
      expect(stored).not.toContain(issued.key);
      expect(stored).not.toContain(issued.key.slice(issued.prefix.length));
    }

    const revoked = await call(url(`/tenants/${tenant.id}/api-keys/${issued.id}`), { method: 'DELETE', key: ADMIN_KEY });
    expect(revoked.status).toBe(204);
    expect(await call(url(`/tenants/${tenant.id}`), { key: issued.key })).toMatchObject({ status: 401, body: { error: { code: 'api_key_invalid' } } });
    const after = await call(url(`/tenants/${tenant.id}/api-keys`), { key: ADMIN_KEY });
    expect(after.body.data[0].revokedAt).not.toBeNull();
  });

  it('lets a tenant key see only its own tenant: others answer 404, admin routes 403', async () => {
    const [mine, theirs] = [await createTenant(`mine-${kind}`), await createTenant(`theirs-${kind}`)];
    const myKey = (await issueKey(mine.id)).key;
    const theirKey = await issueKey(theirs.id);

    expect((await call(url(`/tenants/${mine.id}`), { key: myKey })).status).toBe(200);
    for (const [method, path, code] of [
      ['GET', `/tenants/${theirs.id}`, 'tenant_not_found'],
      ['GET', `/tenants/${theirs.id}/api-keys`, 'tenant_not_found'],
      ['DELETE', `/tenants/${theirs.id}/api-keys/${theirKey.id}`, 'tenant_not_found'],
      ['DELETE', `/tenants/${mine.id}/api-keys/${theirKey.id}`, 'api_key_not_found'],
    ]) {
      const answer = await call(url(path), { method, key: myKey });
      expect({ method, path, status: answer.status, code: answer.body.error?.code }).toEqual({ method, path, status: 404, code });
    }
    // Their key survived the attempt to revoke it.
    expect((await call(url(`/tenants/${theirs.id}`), { key: theirKey.key })).status).toBe(200);

    expect(await call(url('/tenants'), { key: myKey })).toMatchObject({ status: 403, body: { error: { code: 'admin_only' } } });
    // Not even for its own tenant: a leaked key must not mint its successor.
    expect(await call(url(`/tenants/${mine.id}/api-keys`), { method: 'POST', key: myKey, body: {} })).toMatchObject({ status: 403, body: { error: { code: 'admin_only' } } });
    expect((await call(url('/tenants'), { method: 'POST', key: myKey, body: { name: 'x' } })).status).toBe(403);
    expect((await call(url(`/tenants/${mine.id}`), { method: 'DELETE', key: myKey })).status).toBe(403);

    // A tenant may revoke its own keys: it can contain a leak without waiting for the admin.
    const spare = await issueKey(mine.id);
    expect((await call(url(`/tenants/${mine.id}/api-keys/${spare.id}`), { method: 'DELETE', key: myKey })).status).toBe(204);
    expect((await call(url(`/tenants/${mine.id}`), { key: spare.key })).status).toBe(401);
  });

  it('lists tenants in pages with a cursor', async () => {
    for (const n of [1, 2, 3]) await createTenant(`page-${kind}-${n}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await call(url(`/tenants${query}`), { key: ADMIN_KEY });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((tenant: { name: string }) => tenant.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining([`page-${kind}-1`, `page-${kind}-2`, `page-${kind}-3`]));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('deletes a tenant with its keys, which then stop working', async () => {
    const tenant = await createTenant(`gone-${kind}`);
    const key = (await issueKey(tenant.id)).key;
    expect((await call(url(`/tenants/${tenant.id}`), { method: 'DELETE', key: ADMIN_KEY })).status).toBe(204);
    expect((await call(url(`/tenants/${tenant.id}`), { key: ADMIN_KEY })).status).toBe(404);
    expect((await call(url(`/tenants/${tenant.id}`), { key })).status).toBe(401);
  });

  it('refuses a duplicate tenant name with 409', async () => {
    await createTenant(`twice-${kind}`);
    const again = await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name: `twice-${kind}` } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'tenant_name_taken' } } });
  });
});
