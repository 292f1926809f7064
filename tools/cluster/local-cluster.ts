/**
 * A wafleet cluster of real processes on loopback: wa-sim, N api replicas on their own ports, nginx in
 * front, all on the local PostgreSQL (a throwaway database) and Redis (a key prefix of its own). Used by
 * `npm run cluster`, test/cluster/** and the benches; `stop()` removes everything it made.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createThrowawayDatabase, DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, deleteRedisKeys, requireRedis, ThrowawayDatabase } from './backing-services';
import type { WaSimStats } from '../../apps/wa-sim/src/wa-sim.types';
import { findNginx, NginxProxy } from './nginx-proxy';
import { freePort, GroupProcess, sleep, spawnGroup, waitForOk } from './process-group';

export interface LocalClusterOptions {
  /** How many api replicas to start. @default 3 */
  replicas?: number;
  /** Extra environment for every replica (e.g. `LEASE_TTL_MS`); wins over the cluster's own values except PORT, HOST, INSTANCE_ID and DATA_DIR. @default {} */
  env?: Record<string, string>;
  /** A database to use as it is (not dropped at stop). @default a throwaway database created on `postgresAdminUrl` */
  databaseUrl?: string;
  /** Where the throwaway database is created; must name a database that exists. @default postgres://postgres@127.0.0.1:5432/postgres */
  postgresAdminUrl?: string;
  /** @default redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** Put nginx in front; without it `url` is replica 0's. @default true */
  nginx?: boolean;
  /** nginx's loopback port. @default a free port */
  nginxPort?: number;
  /** nginx's proxy_read_timeout in seconds: how long a request waits on a paused replica. @default 75 */
  nginxReadTimeoutSeconds?: number;
  /**
   * wa-sim drops a connection that sent nothing for this long (`WA_SIM_IDLE_TIMEOUT_MS`), as WhatsApp drops
   * a client whose pings stopped; pair it with a shorter `WA_KEEPALIVE_MS` in `env`. @default 0 (never)
   */
  simIdleTimeoutMs?: number;
  /** LOG_LEVEL of the replicas. @default warn */
  logLevel?: string;
  /** The checkout whose `dist/` is run. @default process.cwd() */
  root?: string;
}

/** One replica as it runs now; after `restartReplica(i)` ask `replica(i)` again for the new process. */
export interface Replica {
  index: number;
  instanceId: string;
  port: number;
  url: string;
  pid: number;
  /** Exit code, or 128 + signal number (a clean SIGTERM shutdown is 143, SIGKILL 137). */
  exited: Promise<number>;
  running(): boolean;
  /** Sends a signal to the replica's process group, e.g. SIGSTOP and SIGCONT. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, the way a crash looks; resolves with 137. */
  kill(): Promise<number>;
  /** SIGTERM: the replica drains and exits by itself (143). */
  stop(): Promise<number>;
  /** The last few KB it wrote. */
  output(): string;
}

interface Slot {
  instanceId: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  process?: GroupProcess;
  /** Taken out of nginx's upstream by removeReplica. */
  removed: boolean;
}

const READY_TIMEOUT_MS = 60_000;

export class LocalCluster {
  readonly adminApiKey = `cluster-admin-${randomBytes(16).toString('hex')}`;
  readonly metricsApiKey = `cluster-metrics-${randomBytes(8).toString('hex')}`;
  readonly redisKeyPrefix = `wafleet-cluster-${randomBytes(4).toString('hex')}:`;
  private readonly slots: Slot[] = [];
  private readonly root: string;
  private database?: ThrowawayDatabase;
  private databaseUrlInUse?: string;
  private sim?: GroupProcess;
  private simPort?: number;
  private proxy?: NginxProxy;
  private stopping?: Promise<void>;

  private constructor(private readonly options: LocalClusterOptions) {
    this.root = resolve(options.root ?? process.cwd());
  }

  /** Starts everything and waits until each replica and nginx answer; on failure stops what it started. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const replicas = options.replicas ?? 3;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 64) throw new Error(`replicas must be a whole number from 1 to 64; got ${replicas}`);
    const cluster = new LocalCluster(options);
    try {
      await cluster.boot(replicas);
    } catch (error) {
      await cluster.stop().catch(() => undefined);
      throw error;
    }
    return cluster;
  }

  /** nginx's URL (replica 0's without nginx). */
  get url(): string {
    return this.proxy?.url ?? `http://127.0.0.1:${this.slots[0].port}`;
  }

  get simUrl(): string {
    return `http://127.0.0.1:${this.simPort}`;
  }

  get databaseUrl(): string {
    return this.databaseUrlInUse!;
  }

  /** The throwaway database's name; undefined when `databaseUrl` was given. */
  get databaseName(): string | undefined {
    return this.database?.name;
  }

  get replicaCount(): number {
    return this.slots.length;
  }

  /** pids of every process the cluster runs now: wa-sim, the replicas, nginx. */
  get pids(): number[] {
    const procs = [this.sim, ...this.slots.map((slot) => slot.process), this.proxy && { pid: this.proxy.pid }];
    return procs.filter((proc): proc is { pid: number } => proc !== undefined).map((proc) => proc.pid);
  }

  replica(index: number): Replica {
    const slot = this.slots[index];
    if (!slot?.process) throw new Error(`no replica ${index}: the cluster has ${this.slots.length}`);
    const proc = slot.process;
    return {
      index,
      instanceId: slot.instanceId,
      port: slot.port,
      url: `http://127.0.0.1:${slot.port}`,
      pid: proc.pid,
      exited: proc.exited,
      running: () => !proc.hasExited(),
      signal: (signal) => proc.signal(signal),
      kill: () => proc.stop('SIGKILL'),
      stop: () => proc.stop('SIGTERM'),
      output: () => proc.output(),
    };
  }

  /** Starts one more replica, adds it to nginx (reload) and waits until nginx routes to it. */
  async addReplica(options: { env?: Record<string, string> } = {}): Promise<Replica> {
    const slot = await this.newSlot(options.env ?? {});
    await this.launch(slot);
    if (this.proxy) {
      this.proxy.setUpstreams(this.upstreamPorts());
      await this.waitForRouting(slot.instanceId);
    }
    return this.replica(this.slots.indexOf(slot));
  }

  /** Takes a replica out of nginx (reload), then stops it with SIGTERM; resolves with its exit code. */
  async removeReplica(index: number): Promise<number> {
    const replica = this.replica(index);
    this.slots[index].removed = true;
    this.proxy?.setUpstreams(this.upstreamPorts());
    return replica.stop();
  }

  /** Stops a replica with SIGTERM (if it still runs) and starts it again on the same port, instance id and DATA_DIR. */
  async restartReplica(index: number): Promise<Replica> {
    await this.replica(index).stop();
    await this.launch(this.slots[index]);
    return this.replica(index);
  }

  /** wa-sim's counters (`GET /stats`). */
  async simStats(): Promise<WaSimStats> {
    const response = await fetch(`${this.simUrl}/stats`);
    if (response.status !== 200) throw new Error(`wa-sim answered ${response.status} to GET /stats`);
    return (await response.json()) as WaSimStats;
  }

  /** Stops everything (replicas without the drain), drops the throwaway database and the Redis keys. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async boot(replicas: number): Promise<void> {
    const serverEntry = join(this.root, 'dist/apps/api/src/main.js');
    if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` first.`);
    if (this.options.nginx !== false && !findNginx()) throw new Error('nginx is not installed: install it with `apt-get install -y nginx`.');
    await requireRedis(this.redisUrl);
    if (this.options.databaseUrl) {
      this.databaseUrlInUse = this.options.databaseUrl;
    } else {
      this.database = await createThrowawayDatabase(this.options.postgresAdminUrl ?? DEFAULT_POSTGRES_URL);
      this.databaseUrlInUse = this.database.url;
    }
    await this.startSim();
    for (let i = 0; i < replicas; i++) await this.newSlot({});
    await Promise.all(this.slots.map((slot) => this.launch(slot)));
    if (this.options.nginx !== false) {
      const port = this.options.nginxPort ?? (await freePort());
      this.proxy = await NginxProxy.start({ port, upstreamPorts: this.upstreamPorts(), readTimeoutSeconds: this.options.nginxReadTimeoutSeconds });
    }
  }

  private get redisUrl(): string {
    return this.options.redisUrl ?? DEFAULT_REDIS_URL;
  }

  private async startSim(): Promise<void> {
    let announce: (port: number) => void;
    const announced = new Promise<number>((resolve) => (announce = resolve));
    this.sim = spawnGroup(process.execPath, [join(this.root, 'dist/apps/wa-sim/src/main.js')], {
      env: { PATH: process.env.PATH ?? '', WA_SIM_PORT: '0', WA_SIM_IDLE_TIMEOUT_MS: String(this.options.simIdleTimeoutMs ?? 0) },
      onLine: (line) => {
        if (line.includes('"listening"')) announce((JSON.parse(line) as { port: number }).port);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const exit = this.sim.exited.then((code) => Promise.reject(new Error(`wa-sim exited with ${code} before listening:\n${this.sim!.output()}`)));
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`wa-sim did not listen within 20 s:\n${this.sim!.output()}`)), 20_000)));
    try {
      this.simPort = await Promise.race([announced, exit, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async newSlot(env: Record<string, string>): Promise<Slot> {
    const instanceId = `replica-${this.slots.length}`;
    const slot = { instanceId, port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), `wafleet-${instanceId}-`)), env, removed: false };
    this.slots.push(slot);
    return slot;
  }

  private async launch(slot: Slot): Promise<void> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      LANG: 'C.UTF-8',
      LOG_LEVEL: this.options.logLevel ?? 'warn',
      DATABASE_URL: this.databaseUrl,
      ADMIN_API_KEY: this.adminApiKey,
      METRICS_API_KEY: this.metricsApiKey,
      SYNC_BACKEND: 'redis',
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.redisKeyPrefix,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${this.simPort}/ws/chat`,
      ...this.options.env,
      ...slot.env,
      PORT: String(slot.port),
      HOST: '127.0.0.1',
      INSTANCE_ID: slot.instanceId,
      DATA_DIR: slot.dataDir,
    };
    slot.process = spawnGroup(process.execPath, [join(this.root, 'dist/apps/api/src/main.js')], { env, cwd: slot.dataDir });
    await waitForOk(`http://127.0.0.1:${slot.port}/health/ready`, slot.process, slot.instanceId, READY_TIMEOUT_MS);
  }

  private upstreamPorts(): number[] {
    return this.slots.filter((slot) => !slot.removed).map((slot) => slot.port);
  }

  /** After a reload, old nginx workers still hold the old list for a moment: wait until the new replica answers. */
  private async waitForRouting(instanceId: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const body = await fetch(`${this.url}/health`).then((r) => r.json() as Promise<{ instanceId?: string }>, () => ({}) as { instanceId?: string });
      if (body.instanceId === instanceId) return;
      await sleep(20);
    }
    throw new Error(`nginx did not route to ${instanceId} within ${timeoutMs} ms of the reload:\n${this.proxy?.output()}`);
  }

  private async teardown(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = (work: () => Promise<unknown>) => work().catch((error: unknown) => void errors.push(error));
    await attempt(async () => this.proxy?.stop());
    // SIGINT skips the replicas' drain: nobody is left to drain for.
    await Promise.all(this.slots.map((slot) => attempt(async () => slot.process?.stop('SIGINT'))));
    await attempt(async () => this.sim?.stop('SIGTERM', 5000));
    if (this.database) await attempt(() => this.database!.drop());
    await attempt(() => deleteRedisKeys(this.redisUrl, this.redisKeyPrefix));
    for (const slot of this.slots) rmSync(slot.dataDir, { recursive: true, force: true });
    if (errors.length) throw new AggregateError(errors, `stopping the cluster: ${errors.map((error) => (error as Error).message).join('; ')}`);
  }
}
