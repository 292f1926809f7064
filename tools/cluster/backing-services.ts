/**
 * The cluster's shared state on the local PostgreSQL and Redis: a throwaway database and a key prefix of
 * its own, both removed at the end. Failures to connect say what to start.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

const hidePassword = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${hidePassword(url)} (${(error as Error).message}); start the local one with ` +
        `\`${START_POSTGRES}\` or point the cluster at a server where that user may create databases.`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates `wafleet_<label>_<random>` on the server behind `adminUrl`, which names a database that exists. */
export async function createThrowawayDatabase(adminUrl: string, label: 'cluster' | 'bench' = 'cluster'): Promise<ThrowawayDatabase> {
  const name = `wafleet_${label}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Whether a database of that name exists on the server behind `adminUrl`. */
export function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withClient(adminUrl, async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

function connectRedis(url: string): Redis {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 3000 });
  redis.on('error', () => undefined); // connect() rejects with the same error
  return redis;
}

/** Fails with what to start when Redis does not answer. */
export async function requireRedis(url: string): Promise<void> {
  const redis = connectRedis(url);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${hidePassword(url)} (${(error as Error).message}); start the local one with \`${START_REDIS}\`.`);
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix`; returns how many. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = connectRedis(url);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
