/**
 * Sessions on a LocalCluster driven the way a client drives them: every call through nginx, each device
 * paired by wa-sim's phone scanning the QR that nginx handed out, and the owner of each session read from
 * the `sessions` table. Shared by test/cluster/** and bench/failover.bench.ts.
 */
import { Client } from 'pg';
import type { LocalCluster } from './local-cluster';
import { sleep } from './process-group';

export interface SimStats {
  registrations: number;
  logins: number;
  live: number;
  conflicts: number;
  /** Connections wa-sim dropped because their client went quiet (a paused replica's). */
  idleDrops: number;
}

export interface SessionRow {
  id: string;
  name: string;
  status: string;
  owner: string | null;
  epoch: string;
}

interface Answer {
  status: number;
  body: any;
}

const POLL_MS = 50;
const PAIRING_CONCURRENCY = 3;
/** How many times a call that may be repeated is tried while nginx answers 504. */
const GATEWAY_TIMEOUT_TRIES = 3;

export class ClusterSessions {
  private constructor(
    private readonly cluster: LocalCluster,
    private readonly db: Client,
    /** The tenant key every session call carries. */
    readonly key: string,
  ) {}

  /** A tenant of its own (created through nginx with the admin key) and a connection to the cluster's database. */
  static async open(cluster: LocalCluster, tenantName: string): Promise<ClusterSessions> {
    const tenant = await send(`${cluster.url}/tenants`, cluster.adminApiKey, 'POST', { name: tenantName });
    if (tenant.status !== 201) throw new Error(`creating tenant ${tenantName}: ${tenant.status} ${JSON.stringify(tenant.body)}`);
    const issued = await send(`${cluster.url}/tenants/${tenant.body.id}/api-keys`, cluster.adminApiKey, 'POST', {});
    if (issued.status !== 201) throw new Error(`issuing a key: ${issued.status} ${JSON.stringify(issued.body)}`);
    const db = new Client({ connectionString: cluster.databaseUrl });
    // Dropping the throwaway database at cluster.stop() ends this connection; that is no error here.
    db.on('error', () => undefined);
    await db.connect();
    return new ClusterSessions(cluster, db, issued.body.key as string);
  }

  close(): Promise<void> {
    return this.db.end();
  }

  /** A session call through nginx with the tenant key. */
  call(path: string, method = 'GET', body?: unknown): Promise<Answer> {
    return send(`${this.cluster.url}${path}`, this.key, method, body);
  }

  /**
   * Creates and starts each session through nginx, fetches its QR through nginx and has a phone of its own
   * scan it; resolves once every one is `working`.
   * @param phonePrefix digits that, with a two-digit suffix per session, make each phone number
   */
  async createPaired(names: string[], phonePrefix: string, timeoutMs = 30_000): Promise<void> {
    // A few at a time: a replica starting many engines at once starves its own lease renewals.
    for (let at = 0; at < names.length; at += PAIRING_CONCURRENCY) await this.pair(names.slice(at, at + PAIRING_CONCURRENCY), at, phonePrefix, timeoutMs);
    await this.until(async () => (await this.statuses()).filter(({ name, status }) => names.includes(name) && status === 'working').length === names.length, timeoutMs, `${names.length} sessions working`);
  }

  private async pair(names: string[], firstIndex: number, phonePrefix: string, timeoutMs: number): Promise<void> {
    await Promise.all(
      names.map(async (name, offset) => {
        const i = firstIndex + offset;
        // A create asked again finds its name taken by the try that timed out; a start asked again leaves the session running.
        await this.expectRepeatable([201], 'POST', '/sessions', { name }, (answer) => answer.status === 409 && answer.body?.error?.code === 'session_name_taken');
        await this.expectRepeatable([200, 202], 'POST', `/sessions/${name}/start`);
        const qr = await this.qrOf(name, timeoutMs);
        const scan = await fetch(`${this.cluster.simUrl}/scan`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ qr, phone: `${phonePrefix}${String(i).padStart(2, '0')}` }),
        });
        if (!scan.ok) throw new Error(`wa-sim refused the scan of ${name}: ${scan.status} ${await scan.text()}`);
      }),
    );
  }

  /** Every session's status as `GET /sessions` through nginx reports it. */
  async statuses(): Promise<{ name: string; status: string }[]> {
    const listed = await this.expect([200], 'GET', '/sessions?limit=200');
    return (listed.body.data as { name: string; status: string }[]).map(({ name, status }) => ({ name, status }));
  }

  /** The session rows as the database has them now. */
  async rows(): Promise<SessionRow[]> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT id, name, status, owner_instance_id AS owner, lease_epoch::text AS epoch FROM sessions ORDER BY name`,
    );
    return rows;
  }

  /** A digest of the sessions' auth-state rows: equal digests, untouched rows. */
  async authStateDigest(sessionIds: string[]): Promise<string> {
    const { rows } = await this.db.query<{ digest: string | null }>(
      `SELECT md5(string_agg(session_id || type || id || value, '|' ORDER BY session_id, type, id)) AS digest
       FROM session_auth_state WHERE session_id = ANY($1::uuid[])`,
      [sessionIds],
    );
    return rows[0]?.digest ?? '';
  }

  async ownedBy(instanceId: string): Promise<SessionRow[]> {
    return (await this.rows()).filter((row) => row.owner === instanceId);
  }

  /** The replica (by index) that owns the most sessions among those still running. */
  async busiestReplica(): Promise<{ index: number; sessions: SessionRow[] }> {
    const rows = await this.rows();
    let best = { index: -1, sessions: [] as SessionRow[] };
    for (let index = 0; index < this.cluster.replicaCount; index++) {
      const replica = this.cluster.replica(index);
      if (!replica.running()) continue;
      const sessions = rows.filter((row) => row.owner === replica.instanceId);
      if (sessions.length > best.sessions.length) best = { index, sessions };
    }
    if (best.index < 0) throw new Error(`no running replica owns a session: ${JSON.stringify(rows)}`);
    return best;
  }

  /**
   * Resolves once every one of `moved` is owned by another replica than `from` and reported `working`
   * through nginx, and wa-sim counted at least one login per moved session since `loginsBefore` (until
   * the new owner writes, the dead owner's row still says working); returns the time it was first seen.
   */
  async waitForTakeover(moved: SessionRow[], from: string, loginsBefore: number, timeoutMs: number): Promise<number> {
    const names = new Set(moved.map((row) => row.name));
    await this.until(
      async () => {
        const owners = (await this.rows()).filter((row) => names.has(row.name));
        if (owners.some((row) => row.owner === null || row.owner === from)) return false;
        if ((await this.simStats()).logins < loginsBefore + moved.length) return false;
        return (await this.statuses()).filter((row) => names.has(row.name) && row.status === 'working').length === names.size;
      },
      timeoutMs,
      `sessions ${[...names].join(', ')} working on a replica other than ${from}`,
    );
    return Date.now();
  }

  /** Rows of a query on the cluster's database (read-only use: tests and benches inspecting state). */
  async query(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.db.query(sql, params)).rows;
  }

  /** Why each session last changed owner, from the handoff log: `released`, `lapsed` or `claimed`. */
  async lastHandoffReasons(sessionIds: string[]): Promise<string[]> {
    const { rows } = await this.db.query<{ reason: string }>(
      `SELECT DISTINCT ON (session_id) reason FROM session_handoffs WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, at DESC, id DESC`,
      [sessionIds],
    );
    return rows.map((row) => row.reason);
  }

  async simStats(): Promise<SimStats> {
    return (await this.cluster.simStats()) as unknown as SimStats;
  }

  /** Polls `condition` every 50 ms; fails naming `what` once `timeoutMs` passed. */
  async until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`still not ${what} after ${timeoutMs} ms; rows: ${JSON.stringify(await this.rows())}`);
      await sleep(POLL_MS);
    }
  }

  /** The raw QR, once the replica that runs the session shows one (503 while nobody runs it yet). */
  private async qrOf(name: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: Answer | undefined;
    while (Date.now() < deadline) {
      last = await this.call(`/sessions/${name}/qr?format=raw`);
      if (last.status === 200 && last.body.qr) return last.body.qr as string;
      await sleep(POLL_MS);
    }
    throw new Error(`no QR for ${name} within ${timeoutMs} ms; last answer ${last?.status} ${JSON.stringify(last?.body)}`);
  }

  /**
   * A call a client may repeat, asked again when nginx answers 504. With the short read timeout the failover
   * tests give nginx, a replica busy logging in other sessions on a loaded machine can answer later than
   * nginx waits, and nginx does not pass a timed-out POST to another replica. A 504 says nothing of whether
   * the call was served, so a client asks again.
   * @param servedBefore whether an answer to a repeat says that a try that timed out was served
   */
  private async expectRepeatable(statuses: number[], method: string, path: string, body?: unknown, servedBefore = (_answer: Answer) => false): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      const startedAt = Date.now();
      const answer = await this.call(path, method, body);
      if (answer.status === 504 && attempt < GATEWAY_TIMEOUT_TRIES) {
        console.warn(`${method} ${path} timed out at nginx after ${Date.now() - startedAt} ms (try ${attempt}); asking again`);
        continue;
      }
      return attempt > 1 && servedBefore(answer) ? answer : this.check(answer, statuses, method, path);
    }
  }

  private async expect(statuses: number[], method: string, path: string, body?: unknown): Promise<Answer> {
    return this.check(await this.call(path, method, body), statuses, method, path);
  }

  private check(answer: Answer, statuses: number[], method: string, path: string): Answer {
    if (!statuses.includes(answer.status)) throw new Error(`${method} ${path} answered ${answer.status}, not ${statuses.join(' or ')}: ${JSON.stringify(answer.body)}`);
    return answer;
  }
}

async function send(url: string, key: string, method: string, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return { status: response.status, body: text && json ? JSON.parse(text) : text };
}
