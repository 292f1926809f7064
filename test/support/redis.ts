import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from './server';

/** Where tests find the shared Redis: `TEST_REDIS_URL`, by default the local server CI starts. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Fails with what to set or start when the shared Redis does not answer. */
export async function requireRedis(url = TEST_REDIS_URL): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 3000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new Error(
      `Redis is not reachable at TEST_REDIS_URL=${url} (${(error as Error).message}). Set TEST_REDIS_URL=redis://host:port ` +
        'or start the local one: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
  } finally {
    probe.disconnect();
  }
}

/** A key prefix no other test run uses. */
export const uniquePrefix = (label: string) => `wafleet-test-${label}-${randomBytes(4).toString('hex')}:`;

/** A Redis of the test's own on a free port, to kill and restart without touching the shared one. */
export class PrivateRedis {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** `args` are extra redis-server arguments, e.g. `['--requirepass', 'x']` or a sentinel config. */
  static async start(args: string[] = []): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), args);
    await redis.restart();
    return redis;
  }

  get url(): string {
    const password = this.args[this.args.indexOf('--requirepass') + 1];
    return this.args.includes('--requirepass') ? `redis://:${password}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    // A config file, when given, must come first on redis-server's command line.
    const config = this.args[0]?.endsWith('.conf') ? [this.args[0]] : [];
    const rest = this.args.slice(config.length);
    const argv = [...config, '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...rest];
    const child = spawn('redis-server', argv, { detached: true, stdio: 'ignore' });
    child.once('error', () => undefined);
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await requireRedis(this.url);
        return;
      } catch {
        await new Promise((done) => setTimeout(done, 50));
      }
    }
    await this.kill();
    throw new Error(`redis-server did not start on port ${this.port}: is redis-server on the PATH? (apt-get install -y redis-server)`);
  }

  /** SIGSTOP: a hung Redis, or one behind a partition — its sockets stay open but nothing answers. */
  pause(): void {
    process.kill(-this.process!.pid!, 'SIGSTOP');
  }

  resume(): void {
    process.kill(-this.process!.pid!, 'SIGCONT');
  }

  /** SIGKILL, the way a crashed Redis looks to clients. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    process.kill(-child.pid!, 'SIGKILL');
    process.kill(-child.pid!, 'SIGCONT');
    await exited;
  }
}
