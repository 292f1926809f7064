import { loadConfig } from '@wafleet/config';
import { SessionLeaseMetrics, SessionLeases } from '@wafleet/registry';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * Session leases as replicas named by instance id would hold them (60 s TTL) on one test database, for
 * integration tests that need an owner's epoch; `stop` ends their renewals.
 */
export function testLeases(databaseUrl: () => string, dataSource: () => DataSource): { of: (instanceId: string) => SessionLeases; stop: () => void } {
  const made: SessionLeases[] = [];
  return {
    of(instanceId) {
      const config = loadConfig({ DATABASE_URL: databaseUrl(), ADMIN_API_KEY: 'x'.repeat(32), INSTANCE_ID: instanceId, LEASE_TTL_MS: '60000' });
      const lease = new SessionLeases(config, dataSource(), new SessionLeaseMetrics(new Registry()));
      made.push(lease);
      return lease;
    },
    stop: () => made.forEach((lease) => lease.onApplicationShutdown()),
  };
}
