import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { call } from './http';

export interface SessionBody {
  id: string;
  name: string;
  status: string;
  desiredState: string;
  me: { id: string; name?: string } | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** Polls `GET /sessions/:id` until its status is `status`; fails naming the last status seen. */
export async function waitForStatus(baseUrl: string, key: string, session: string, status: string, timeoutMs = 30_000): Promise<SessionBody> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const answer = await call<SessionBody>(`${baseUrl}/sessions/${session}`, { key });
    last = answer.status === 200 ? answer.body.status : answer.body;
    if (answer.status === 200 && answer.body.status === status) return answer.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`session ${session} did not reach ${status} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

/** The text a QR image holds, read back the way a phone's camera would. */
export function decodeQrPng(png: Buffer): string {
  const image = PNG.sync.read(png);
  const decoded = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  if (!decoded) throw new Error(`no QR code found in the ${image.width}x${image.height} PNG`);
  return decoded.data;
}

/** Creates a tenant and one key for it with the admin key; answers the tenant key. */
export async function tenantKey(baseUrl: string, adminKey: string, name: string): Promise<string> {
  const tenant = await call(`${baseUrl}/tenants`, { method: 'POST', key: adminKey, body: { name } });
  if (tenant.status !== 201) throw new Error(`creating tenant ${name}: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  const key = await call(`${baseUrl}/tenants/${tenant.body.id}/api-keys`, { method: 'POST', key: adminKey, body: {} });
  if (key.status !== 201) throw new Error(`issuing a key: ${key.status} ${JSON.stringify(key.body)}`);
  return key.body.key as string;
}
