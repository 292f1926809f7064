import type { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from './http';
import { waitForStatus } from './sessions';
import { ADMIN_KEY } from './topology';

export interface TestTenant {
  id: string;
  key: string;
}

/** A tenant with one key, made with the admin key. */
export async function newTenant(baseUrl: string, name: string): Promise<TestTenant> {
  const tenant = await call(`${baseUrl}/tenants`, { method: 'POST', key: ADMIN_KEY, body: { name } });
  if (tenant.status !== 201) throw new Error(`creating tenant ${name}: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  const key = await call(`${baseUrl}/tenants/${tenant.body.id}/api-keys`, { method: 'POST', key: ADMIN_KEY, body: {} });
  if (key.status !== 201) throw new Error(`issuing a key: ${key.status} ${JSON.stringify(key.body)}`);
  return { id: tenant.body.id as string, key: key.body.key as string };
}

/** A new plan with the given limits, and `tenants` put on it; answers the plan's id. */
export async function planFor(baseUrl: string, name: string, limits: Record<string, number | null>, ...tenants: TestTenant[]): Promise<string> {
  const plan = await call(`${baseUrl}/plans`, { method: 'POST', key: ADMIN_KEY, body: { name, ...limits } });
  if (plan.status !== 201) throw new Error(`creating plan ${name}: ${plan.status} ${JSON.stringify(plan.body)}`);
  for (const tenant of tenants) {
    const put = await call(`${baseUrl}/tenants/${tenant.id}/plan`, { method: 'PUT', key: ADMIN_KEY, body: { planId: plan.body.id } });
    if (put.status !== 200) throw new Error(`putting tenant ${tenant.id} on plan ${name}: ${put.status} ${JSON.stringify(put.body)}`);
  }
  return plan.body.id as string;
}

/** Creates a session, starts it and links it to `phone` on wa-sim by scanning its QR; resolves once it is working. */
export async function pairedSession(baseUrl: string, key: string, sim: WaSimServer, name: string, phone: string): Promise<string> {
  const created = await call(`${baseUrl}/sessions`, { method: 'POST', key, body: { name } });
  if (created.status !== 201) throw new Error(`creating session ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  await call(`${baseUrl}/sessions/${name}/start`, { method: 'POST', key });
  await waitForStatus(baseUrl, key, name, 'scan_qr');
  const qr = (await call(`${baseUrl}/sessions/${name}/qr?format=raw`, { key })).body.qr as string;
  await sim.scanQr(qr, phone);
  await waitForStatus(baseUrl, key, name, 'working');
  return created.body.id as string;
}


/** The tenant's usage for today (UTC) as the admin reads it. */
export async function usageToday(baseUrl: string, tenantId: string): Promise<{ messagesSent: number; messagesReceived: number; apiCalls: number }> {
  const today = new Date().toISOString().slice(0, 10);
  const answer = await call(`${baseUrl}/tenants/${tenantId}/usage?from=${today}&to=${today}`, { key: ADMIN_KEY });
  if (answer.status !== 200) throw new Error(`reading usage: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.totals;
}

export { until } from './wait';
