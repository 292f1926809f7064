import { connect, type Socket } from 'node:net';
import { call } from '../support/http';
import { ADMIN_KEY, bootFor, DATABASE_KINDS, METRICS_KEY } from '../support/topology';

describe.each(DATABASE_KINDS)('errors, logs, metrics and docs on the %s database', (kind) => {
  const booted = bootFor(kind);
  const url = (path: string) => `${booted.server.url}${path}`;

  it('answers 400 naming each bad field, unknown fields included', async () => {
    const answer = await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name: '', color: 'red' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_failed');
    const fields = answer.body.error.details.map((detail: { field: string }) => detail.field).sort();
    expect(fields).toEqual(['color', 'name']);
    const query = await call(url('/tenants?limit=500'), { key: ADMIN_KEY });
    expect(query).toMatchObject({ status: 400, body: { error: { details: [{ field: 'limit' }] } } });
  });

  it('keeps every client mistake a JSON 4xx', async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/tenants', { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } }, 400, 'bad_request'],
      ['/tenants', { method: 'POST', body: 'name=x', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      ['/tenants', { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(2_000_000) }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
      ['/no-such-route', {}, 404, 'route_not_found'],
      ['/tenants/not-a-uuid', {}, 404, 'tenant_not_found'],
      ['/tenants?cursor=bogus', {}, 400, 'validation_failed'],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await fetch(url(path), { ...init, headers: { 'x-api-key': ADMIN_KEY, ...(init.headers as object) } });
      const body = (await response.json()) as { error: { code: string; message: unknown } };
      expect({ path, status: response.status, code: body.error?.code }).toEqual({ path, status, code });
      expect(typeof body.error.message).toBe('string');
    }
  });

  it('refuses what the database could not store, and ids of the wrong shape, as 4xx naming the field', async () => {
    const tenant = (await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name: `unstorable-${kind}` } })).body;
    const key = (await call(url(`/tenants/${tenant.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} })).body.key as string;
    let deep: unknown = 'bottom';
    for (let i = 0; i < 2000; i++) deep = [deep];
    const cases: Array<[string, string, unknown, number, string | undefined]> = [
      // PostgreSQL's text and jsonb cannot hold U+0000, in a value or in a key.
      ['POST', '/sessions', { name: 'nul-meta', metadata: { note: 'a\u0000b' } }, 400, 'metadata.note'],
      ['POST', '/sessions', { name: 'nul-key', metadata: { 'a\u0000b': 'x' } }, 400, 'metadata.a\\u0000b'],
      ['GET', '/sessions/bad%00name', undefined, 400, 'session'],
      ['GET', '/sessions/bad%00name/messages', undefined, 400, 'session'],
      ['GET', '/sessions?cursor=%00', undefined, 400, 'cursor'],
      // Nesting past what any route takes, refused before it is walked.
      ['POST', '/sessions', { name: 'deep', metadata: { deep } }, 400, `metadata.deep${'.0'.repeat(30)}`],
      ['POST', '/webhooks', deep, 400, undefined],
      ['DELETE', '/campaigns/not-a-uuid', undefined, 404, undefined],
      // A list where one object is expected passes a nested check with nothing to check.
      ['POST', '/campaigns', { name: 'c', session: 's', template: [], perMinute: 10 }, 400, 'template'],
    ];
    for (const [method, path, body, status, field] of cases) {
      const answer = await call(url(path), { method, key, body });
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expect(typeof answer.body.error.message).toBe('string');
      if (field) expect(answer.body.error.details).toEqual([{ field, problems: [expect.any(String)] }]);
    }
    expect((await call(url('/sessions'), { key })).body.data).toEqual([]);
  });

  it('answers a body over the limit with its 413, and keeps the connection while the rest arrives', async () => {
    const { hostname, port } = new URL(booted.server.url);
    const socket = connect(Number(port), hostname);
    const answers = responsesOn(socket);
    const length = 2_000_000;
    socket.write(`POST /tenants HTTP/1.1\r\nHost: ${hostname}\r\nX-API-Key: ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);

    // Answered before the body is sent, and the connection stays: a client still writing it gets no reset.
    const tooLarge = await answers.next();
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body).error.code).toBe('payload_too_large');
    expect(tooLarge.headers.connection).not.toBe('close');

    socket.write(Buffer.alloc(length, 'x'));
    socket.write(`GET /health HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    expect((await answers.next()).status).toBe(200);
    socket.destroy();
  });

  it('echoes X-Request-Id, logs it with the instance id, and never logs a key', async () => {
    const tenant = (await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name: `logs-${kind}` } })).body;
    const tenantKey = (await call(url(`/tenants/${tenant.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} })).body.key as string;
    const wrongKey = `wfk_${'x'.repeat(43)}`;
    expect((await call(url(`/tenants/${tenant.id}`), { key: tenantKey, headers: { authorization: `Bearer ${tenantKey}`, cookie: `k=${tenantKey}` } })).status).toBe(200);
    expect((await call(url('/tenants'), { key: wrongKey })).status).toBe(401);
    const answer = await call(url('/tenants'), { key: ADMIN_KEY, headers: { 'x-request-id': `trace-${kind}-42` } });
    expect(answer.headers.get('x-request-id')).toBe(`trace-${kind}-42`);
    expect((await call(url('/nowhere'))).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((done) => setTimeout(done, 200));
    const line = booted.server.logLines().find((entry) => (entry.req as { id?: string })?.id === `trace-${kind}-42`);
    expect(line).toMatchObject({ instanceId: expect.any(String), res: { statusCode: 200 } });
    for (const secret of [ADMIN_KEY, METRICS_KEY, tenantKey, wrongKey]) expect(booted.server.stdout()).not.toContain(secret);
    // The requests that carried those keys were logged: the check above looked at their lines.
    expect(booted.server.stdout()).toContain(`"url":"/tenants/${tenant.id}"`);
  });

  it('serves /metrics only with its key or the admin key', async () => {
    expect((await call(url('/metrics'))).status).toBe(401);
    expect((await call(url('/metrics'), { headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } })).status).toBe(401);
    const scraped = await call(url('/metrics'), { headers: { authorization: `Bearer ${METRICS_KEY}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain');
    expect(scraped.body).toMatch(/^http_requests_total\{method="GET",route="\/tenants",status="200",instance="[^"]+"\} \d+$/m);
    expect(scraped.body).toContain('http_request_duration_seconds_bucket');
    expect(scraped.body).toContain('process_resident_memory_bytes');
    expect((await call(url('/metrics'), { key: ADMIN_KEY })).status).toBe(200);
  });

  it('serves Swagger UI and an OpenAPI document that describes every route', async () => {
    expect((await fetch(url('/docs'))).status).toBe(200);
    const document = (await call(url('/docs/openapi.json'))).body;
    expect(document.components.securitySchemes['api-key']).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/health',
        '/health/ready',
        '/metrics',
        '/cluster',
        '/tenants',
        '/tenants/{tenantId}',
        '/tenants/{tenantId}/api-keys',
        '/tenants/{tenantId}/api-keys/{keyId}',
        '/tenants/{tenantId}/plan',
        '/tenants/{tenantId}/usage',
        '/plans',
        '/plans/{planId}',
        '/sessions',
        '/sessions/{session}',
        '/sessions/{session}/start',
        '/sessions/{session}/stop',
        '/sessions/{session}/restart',
        '/sessions/{session}/logout',
        '/sessions/{session}/qr',
        '/sessions/{session}/pairing-code',
        '/sessions/{session}/events',
        '/sessions/{session}/messages',
        '/sessions/{session}/messages/{message}',
        '/sessions/{session}/messages/{message}/edit',
        '/sessions/{session}/messages/{message}/media',
        '/sessions/{session}/chats',
        '/sessions/{session}/chats/{chat}/read',
        '/sessions/{session}/presence',
        '/webhooks',
        '/webhooks/{id}',
        '/webhooks/{id}/secret',
        '/webhooks/{id}/deliveries',
        '/webhooks/{id}/deliveries/retry',
        '/webhooks/{id}/deliveries/{delivery}',
        '/webhooks/{id}/deliveries/{delivery}/retry',
        '/campaigns',
        '/campaigns/{id}',
        '/campaigns/{id}/recipients',
        '/campaigns/{id}/start',
        '/campaigns/{id}/pause',
        '/campaigns/{id}/resume',
        '/campaigns/{id}/cancel',
      ].sort(),
    );
    for (const [path, operations] of Object.entries<Record<string, { summary?: string }>>(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) expect({ path, method, summary: !!operation.summary }).toEqual({ path, method, summary: true });
    }
    expect(document.components.schemas.CreatedApiKeyResponse.properties.key).toBeDefined();
  });
});

describe('an unexpected failure', () => {
  const booted = bootFor('postgres');

  it('answers 500 with only an error id, and logs the rest under that id', async () => {
    await booted.database!.query('ALTER TABLE tenants RENAME TO tenants_away');
    try {
      const answer = await call(`${booted.server.url}/tenants`, { key: ADMIN_KEY });
      expect(answer.status).toBe(500);
      expect(Object.keys(answer.body.error).sort()).toEqual(['code', 'errorId', 'message']);
      expect(answer.body.error.code).toBe('internal_error');
      expect(JSON.stringify(answer.body)).not.toMatch(/tenants|relation|sql|select/i);
      await new Promise((done) => setTimeout(done, 200));
      const logged = booted.server.logLines().find((line) => line.errorId === answer.body.error.errorId);
      expect(JSON.stringify(logged)).toContain('relation');
      // Written while serving the request, so it carries the request's id, as the line closing the request does.
      expect(logged?.reqId).toBe(answer.headers.get('x-request-id'));
      const closing = booted.server.logLines().find((line) => line.msg === 'request errored' && line.reqId === logged?.reqId);
      expect(closing).toMatchObject({ level: 50, res: { statusCode: 500 }, responseTime: expect.any(Number) });
    } finally {
      await booted.database!.query('ALTER TABLE tenants_away RENAME TO tenants');
    }
    expect((await call(`${booted.server.url}/tenants`, { key: ADMIN_KEY })).status).toBe(200);
  });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** HTTP/1.1 responses read off a raw socket one after another (bodies with a Content-Length only). */
function responsesOn(socket: Socket): { next(): Promise<RawResponse> } {
  let buffer = Buffer.alloc(0);
  let wake: () => void = () => undefined;
  let closed: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake();
  });
  socket.on('close', () => {
    closed = new Error('the server closed the connection');
    wake();
  });
  socket.on('error', () => undefined);
  const parse = (): RawResponse | undefined => {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < end + 4 + length) return undefined;
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    buffer = buffer.subarray(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  };
  return {
    async next() {
      for (;;) {
        const response = parse();
        if (response) return response;
        if (closed) throw closed;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
