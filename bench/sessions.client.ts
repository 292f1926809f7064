/**
 * The parts of wafleet's HTTP API that bench/sessions.bench.ts drives, over one keep-alive agent, and
 * the polling and bounded-concurrency helpers it needs.
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { httpRequest, sleep } from './support';

/** Often enough to time pairing, rarely enough that 20 pollers do not load the server they measure. */
const POLL_MS = 100;
const SESSION_TIMEOUT_MS = 120_000;
/** The embedded database runs in the server's process: under a pairing burst an answer can take seconds. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Statuses a session does not leave by itself: pairing has failed. */
const DEAD_ENDS = new Set(['stopped', 'failed', 'logged_out', 'qr_expired']);

/** Calls `probe` every `intervalMs` until it returns a value; throws after `timeoutMs`, naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = POLL_MS): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once; results in order. */
export async function pool<T>(count: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export class WafleetClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly metricsKey: string,
  ) {}

  /** A new tenant and an API key for it (needs the admin key). */
  async tenantKey(name: string): Promise<string> {
    const { id } = await this.call<{ id: string }>('POST', '/tenants', 201, { name });
    return (await this.call<{ key: string }>('POST', `/tenants/${id}/api-keys`, 201, {})).key;
  }

  async createAndStart(name: string): Promise<string> {
    const { id } = await this.call<{ id: string }>('POST', '/sessions', 201, { name });
    await this.call('POST', `/sessions/${id}/start`, 202);
    return id;
  }

  /** The raw QR string, once the session shows one (409 until then). */
  qr(id: string): Promise<string> {
    return waitFor(
      `a QR for session ${id}`,
      async () => {
        const res = await this.request('GET', `/sessions/${id}/qr?format=raw`);
        if (res.status === 200) return (JSON.parse(res.body) as { qr: string }).qr;
        if (res.status === 409) return this.assertAlive(id);
        throw new Error(`GET /sessions/${id}/qr answered ${res.status}: ${res.body}`);
      },
      SESSION_TIMEOUT_MS,
    );
  }

  waitWorking(id: string): Promise<true> {
    return waitFor(
      `session ${id} to be working`,
      async () => ((await this.status(id)) === 'working' ? true : this.assertAlive(id)),
      SESSION_TIMEOUT_MS,
    );
  }

  /** How many of the tenant's sessions are working, over every page of the list. */
  async countWorking(): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    do {
      const query: string = `/sessions?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { data: { status: string }[]; nextCursor: string | null } = await this.call('GET', query, 200);
      count += page.data.filter((session) => session.status === 'working').length;
      cursor = page.nextCursor;
    } while (cursor);
    return count;
  }

  /** nodejs_heap_size_used_bytes from /metrics (process.memoryUsage().heapUsed of the server). */
  async heapUsedBytes(): Promise<number> {
    const res = await this.request('GET', '/metrics', undefined, { authorization: `Bearer ${this.metricsKey}` });
    const value = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(res.body)?.[1];
    if (res.status !== 200 || value === undefined) throw new Error(`GET /metrics answered ${res.status} without nodejs_heap_size_used_bytes`);
    return Number(value);
  }

  private async status(id: string): Promise<string> {
    return (await this.call<{ status: string }>('GET', `/sessions/${id}`, 200)).status;
  }

  /** undefined (keep waiting) unless the session reached a dead end, which throws. */
  private async assertAlive(id: string): Promise<undefined> {
    const status = await this.status(id);
    if (DEAD_ENDS.has(status)) throw new Error(`session ${id} is ${status} instead of pairing`);
    return undefined;
  }

  private async call<T>(method: string, path: string, expected: number, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status !== expected) throw new Error(`${method} ${path} answered ${res.status} (want ${expected}): ${res.body}`);
    return (res.body ? JSON.parse(res.body) : undefined) as T;
  }

  private request(method: string, path: string, body?: unknown, headers: Record<string, string> = { 'x-api-key': this.apiKey }) {
    return httpRequest(this.baseUrl + path, { method, body, headers, agent: this.agent, timeoutMs: REQUEST_TIMEOUT_MS });
  }
}
