/**
 * The baseline for bench/webhooks.bench.ts: the least code that delivers an outbox as Standard Webhooks,
 * run as one process per replica. It claims up to CONCURRENCY due rows of TABLE with `FOR UPDATE SKIP
 * LOCKED`, POSTs each row's payload to TARGET_URL over keep-alive connections, signed with SECRET by the
 * same `standardwebhooks` package (no address checks, no timeouts, no retries, no metrics), marks the
 * batch delivered in one statement, and goes again; it exits once a claim finds nothing twice, printing
 * the CPU seconds it used.
 */
import { Agent, request } from 'node:http';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';

const table = process.env.TABLE ?? '';
const target = new URL(process.env.TARGET_URL ?? '');
const concurrency = Number(process.env.CONCURRENCY);
if (!/^[a-z_]+$/.test(table) || !Number.isInteger(concurrency) || concurrency < 1 || !process.env.SECRET) throw new Error('TABLE, TARGET_URL, CONCURRENCY and SECRET are required');
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const signer = new Webhook(process.env.SECRET ?? '');

function post(id: string, payload: unknown): Promise<void> {
  const body = JSON.stringify(payload);
  const at = new Date();
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signer.sign(id, at, body),
  };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  for (let empty = 0; empty < 2; ) {
    const { rows } = await db.query<{ id: string; payload: unknown }>(
      `UPDATE ${table} SET status = 'delivering', attempts = attempts + 1
       WHERE id IN (SELECT id FROM ${table} WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, payload`,
      [concurrency],
    );
    if (rows.length === 0) {
      empty++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    empty = 0;
    await Promise.all(rows.map((row) => post(row.id, row.payload)));
    await db.query(`UPDATE ${table} SET status = 'delivered', delivered_at = now() WHERE id = ANY($1::uuid[])`, [rows.map((row) => row.id)]);
  }
  await db.end();
  agent.destroy();
  // The bench reads this process's CPU from this line: the process is gone before it could read /proc.
  const usage = process.cpuUsage();
  process.stdout.write(`cpu ${(usage.user + usage.system) / 1e6}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`raw claim loop: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
