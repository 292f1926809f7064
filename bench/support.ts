/**
 * Shared helpers for the benches in this folder: child processes in their own process group (killed by
 * group id, also on error or Ctrl-C), readiness polling, /proc memory figures, percentiles, a throwaway
 * PostgreSQL database, and a `runMain` wrapper that prints the result as JSON on stdout. Progress goes to
 * stderr so stdout stays one JSON document.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createThrowawayDatabase } from '../tools/cluster/backing-services';
import { freePort, spawnGroup } from '../tools/cluster/process-group';

export { freePort };

export const SERVER_ENTRY = join(__dirname, '..', 'apps', 'api', 'src', 'main.js');
export const ADMIN_API_KEY = `bench-admin-${randomBytes(16).toString('hex')}`;
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
/** a / b, rounded; null when the baseline is zero or missing. */
export const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null);

export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw} must be a whole number from ${min} to ${max}`);
  return n;
}

const cleanups: Array<() => unknown> = [];

/** Registers an undo step, run in reverse order at the end (also on error or signal); returns its remover. */
export function onCleanup(fn: () => unknown): () => void {
  cleanups.push(fn);
  return () => {
    const at = cleanups.indexOf(fn);
    if (at >= 0) cleanups.splice(at, 1);
  };
}

async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (error) {
      log(`cleanup failed: ${(error as Error).message}`);
    }
  }
}

/** Runs the bench, prints its result as JSON on stdout, undoes everything it set up, and exits. */
export function runMain(main: () => Promise<unknown>): void {
  let finishing = false;
  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    await runCleanups();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(130));
  main().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return finish(0);
    },
    (error: Error) => {
      if (!finishing) log(`failed: ${error.stack ?? error.message}`); // else: interrupted, cleanups are stopping things
      return finish(1);
    },
  );
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, totalMemMB: Math.round(os.totalmem() / 2 ** 20) };
}

export interface Proc {
  pid: number;
  /** performance.now() just before spawn. */
  startedAt: number;
  exited: () => boolean;
  /** The last few KB of the child's stdout and stderr, for error messages. */
  output: () => string;
  /** SIGTERM to the group, wait for exit (rejects after timeoutMs, having SIGKILLed the group). */
  stop: (timeoutMs?: number) => Promise<void>;
}

/** Starts `node <args>` as the leader of a new process group, stopped at cleanup; `onLine` gets each whole line of its stdout. */
export function spawnNode(args: string[], env: Record<string, string>, onLine?: (line: string) => void): Proc {
  const startedAt = performance.now();
  const child = spawnGroup(process.execPath, args, { env, onLine });
  const removeCleanup = onCleanup(() => stop(5000));
  async function stop(timeoutMs = 10000): Promise<void> {
    removeCleanup();
    const asked = performance.now();
    const code = await child.stop('SIGTERM', timeoutMs);
    if (performance.now() - asked >= timeoutMs) throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms of SIGTERM; killed its group`);
    if (code !== 0 && code !== 143) log(`pid ${child.pid} exited with code ${code}; output:\n${child.output()}`);
  }
  return { pid: child.pid, startedAt, exited: child.hasExited, output: child.output, stop };
}

/** VmRSS and VmHWM (peak RSS) of a process, in MB, from /proc/<pid>/status. */
export function readMemory(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024, 1);
  return { rssMB: mb('VmRSS'), peakMB: mb('VmHWM') };
}

/** CPU seconds (user + system) used so far by the whole process and by its main thread (tid = pid). */
export function readCpu(pid: number): { totalSec: number; mainThreadSec: number } {
  const seconds = (path: string) => {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' '); // after "pid (comm) "
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  };
  return { totalSec: seconds(`/proc/${pid}/stat`), mainThreadSec: seconds(`/proc/${pid}/task/${pid}/stat`) };
}

/**
 * CPU seconds used so far by every process whose command name is `comm` (e.g. all of PostgreSQL's
 * backends), with those of their children that ended (cutime, cstime): a backend that exits between two
 * readings moves its time to the postmaster's account, so the total never goes down.
 */
export function readCpuOfAll(comm: string): number {
  let total = 0;
  for (const pid of pidsOf(comm)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

/** Pids of the processes whose command name is `comm` (`postgres`, `redis-server`). */
export function pidsOf(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return pids;
}

/**
 * Pins every thread of each process to the CPUs listed (`taskset -a -p -c`, e.g. `0` or `1-3`); processes a
 * pinned one forks later (PostgreSQL's backends) inherit it, so `pids` may be a function, asked again
 * when undoing. @returns undoes it: every thread of those processes back on all CPUs
 */
export function pinToCpus(pids: number[] | (() => number[]), cpuList: string): () => void {
  const list = () => (typeof pids === 'function' ? pids() : pids);
  const set = (cpus: string) => {
    for (const pid of list()) {
      const done = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
      // A process that ended meanwhile has nothing left to pin; anything else would make the figures lie.
      if (done.status !== 0 && existsSync(`/proc/${pid}`)) throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${done.stderr || done.error?.message}`);
    }
  };
  set(cpuList);
  return () => set(`0-${os.cpus().length - 1}`);
}

/** CPU seconds every core of the machine has spent busy so far (all processes, from /proc/stat). */
export function machineBusyCpu(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
}

/** CPU seconds this process has used. */
export function ownCpu(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export type RequestOptions = { method?: string; headers?: Record<string, string>; body?: unknown; agent?: http.Agent | false; timeoutMs?: number };

export function httpRequest(url: string, o: RequestOptions = {}): Promise<{ status: number; body: string }> {
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const timeoutMs = o.timeoutMs ?? 10000;
  return new Promise((resolve, reject) => {
    const headers = { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...o.headers };
    const req = http.request(url, { method: o.method ?? 'GET', agent: o.agent ?? false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms: ${o.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls `url` every 5 ms until it answers 200; returns ms since the process was spawned. */
export async function waitForOk(proc: Proc, url: string, timeoutMs = 120000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exited()) throw new Error(`pid ${proc.pid} exited before ${url} answered 200; output:\n${proc.output()}`);
    const status = await httpRequest(url, { timeoutMs: 2000 }).then((r) => r.status, () => 0); // 0: not listening yet
    if (status === 200) return performance.now() - proc.startedAt;
    await sleep(5);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; output:\n${proc.output()}`);
}

/** A server that answered its first 200; rssMB is VmRSS at that moment. */
export interface Running { proc: Proc; baseUrl: string; readyMs: number; rssMB: number }

export const minimalEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.tmpdir(), LANG: 'C.UTF-8' });

async function launch(args: string[], env: Record<string, string>, port: number, readyPath: string): Promise<Running> {
  const proc = spawnNode(args, env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const readyMs = await waitForOk(proc, baseUrl + readyPath);
  return { proc, baseUrl, readyMs: round(readyMs), rssMB: readMemory(proc.pid).rssMB };
}

/**
 * wafleet on a free loopback port: embedded in `dataDir`, or on PostgreSQL when `databaseUrl` is given;
 * `env` adds or overrides variables (e.g. WA_WEBSOCKET_URL).
 */
export async function startWafleet(o: { dataDir: string; databaseUrl?: string; env?: Record<string, string> }): Promise<Running> {
  const port = await freePort();
  const env = { ...minimalEnv(), PORT: String(port), HOST: '127.0.0.1', DATA_DIR: o.dataDir, ADMIN_API_KEY, LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '0', ...o.env };
  return launch([SERVER_ENTRY], o.databaseUrl ? { ...env, DATABASE_URL: o.databaseUrl } : env, port, '/health/ready');
}

/** The floor: a bare node HTTP server answering 200. */
export async function startBareNode(): Promise<Running> {
  const port = await freePort();
  const code = "require('http').createServer((q,s)=>{s.setHeader('content-type','application/json');s.end('{\"status\":\"ok\"}')}).listen(+process.env.PORT,'127.0.0.1')";
  return launch(['-e', code], { ...minimalEnv(), PORT: String(port) }, port, '/health/ready');
}

/** The middle value; the mean of the two middle values for an even count. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarize(values: number[]) {
  return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(Math.max(...values)), samples: values.length };
}

function adminDatabaseUrl(): string {
  const url = process.env.BENCH_DATABASE_URL || DEFAULT_DATABASE_URL;
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`BENCH_DATABASE_URL must point at a loopback address (127.0.0.1, localhost or ::1), got host ${host}`);
  return url;
}

async function connectAdmin(): Promise<Client> {
  const url = adminDatabaseUrl();
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const shown = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    throw new Error(
      `PostgreSQL is not reachable at BENCH_DATABASE_URL=${shown} (${(error as Error).message}). ` +
        `Set BENCH_DATABASE_URL to a local postgres:// URL (default ${DEFAULT_DATABASE_URL}), or start the local cluster: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  }
  return client;
}

/** Fails early, with the how-to-start message, when PostgreSQL is down. */
export async function assertPostgresReachable(): Promise<void> {
  await (await connectAdmin()).end();
}

/** A fresh `wafleet_bench_<random>` database; dropped by `drop()` or, failing that, at cleanup. */
export async function createTempDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  await assertPostgresReachable(); // the message that names BENCH_DATABASE_URL
  const database = await createThrowawayDatabase(adminDatabaseUrl(), 'bench');
  const removeCleanup = onCleanup(() => database.drop());
  return {
    url: database.url,
    drop: () => {
      removeCleanup();
      return database.drop();
    },
  };
}
