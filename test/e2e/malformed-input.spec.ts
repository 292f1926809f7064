import { call } from '../support/http';
import { ADMIN_KEY, bootFor, DATABASE_KINDS } from '../support/topology';

/** Path parameters of the wrong shape: not an id, a NUL inside, far too long, not decodable. */
const BAD_IDS = ['not-an-id', 'nul%00inside', 'x'.repeat(300), 'bad%E0%A4%Aencoding'];
const BAD_QUERIES = ['', '?limit=abc&cursor=%00', '?after=-1&wait=soon'];

function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** Bodies no route takes: not JSON, JSON of the wrong type, unknown fields, a NUL, nesting no route takes. */
const BAD_BODIES: (string | undefined)[] = [
  undefined,
  '{',
  '[]',
  'null',
  '"text"',
  JSON.stringify({ unknown: true, name: 7, events: 'all', template: [], media: [] }),
  JSON.stringify({ name: 'a\u0000b', metadata: { 'k\u0000': 'v\u0000' } }),
  JSON.stringify({ name: 'deep', metadata: nested(3000) }),
];

interface Problem {
  request: string;
  status: number;
  body: unknown;
}

/**
 * Every route the OpenAPI document lists, sent malformed input with the admin key and with a tenant's:
 * the answer is a JSON error with a code, and never a 5xx, whatever the route. A route added later is
 * covered by being in the document.
 */
describe.each(DATABASE_KINDS)('malformed input on every route, on the %s database', (kind) => {
  const booted = bootFor(kind);
  const url = (path: string) => `${booted.server.url}${path}`;

  // Thousands of requests one after another: a few seconds idle, but each waits its turn on a loaded machine.
  it('answers each with a JSON 4xx, never a 5xx', async () => {
    const tenant = (await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name: `malformed-${kind}` } })).body;
    const tenantKey = (await call(url(`/tenants/${tenant.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} })).body.key as string;
    const document = (await call(url('/docs/openapi.json'))).body as { paths: Record<string, Record<string, unknown>> };
    const problems: Problem[] = [];
    let sent = 0;

    for (const [template, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations).map((name) => name.toUpperCase())) {
        const paths = template.includes('{') ? BAD_IDS.map((id) => template.replace(/\{[^}]+\}/g, id)) : [template];
        const takesBody = ['POST', 'PUT', 'PATCH'].includes(method);
        for (const path of paths) {
          for (const key of [ADMIN_KEY, tenantKey]) {
            const variants = takesBody ? BAD_BODIES.map((body) => ({ path, body })) : BAD_QUERIES.map((query) => ({ path: `${path}${query}`, body: undefined }));
            for (const variant of variants) {
              const response = await fetch(url(variant.path), {
                method,
                headers: { 'x-api-key': key, ...(variant.body !== undefined ? { 'content-type': 'application/json' } : {}) },
                body: variant.body,
              });
              sent++;
              const text = await response.text();
              let body: unknown = text;
              try {
                body = JSON.parse(text);
              } catch {
                // Not JSON: reported below unless the route answered 2xx.
              }
              const code = (body as { error?: { code?: unknown } })?.error?.code;
              const fine = response.status < 300 || (response.status < 500 && typeof code === 'string');
              if (!fine) problems.push({ request: `${method} ${variant.path.slice(0, 80)} ${(variant.body ?? '').slice(0, 60)}`, status: response.status, body: typeof body === 'string' ? body.slice(0, 200) : body });
            }
          }
        }
      }
    }

    expect(sent).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
  }, 180_000);
});
