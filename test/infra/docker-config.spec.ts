import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Offline checks of the deployment files in docker/. They need the real tools:
// a missing tool must fail the suite, never skip it.

const ROOT = process.cwd();
const COMPOSE_FILE = resolve(ROOT, 'docker/compose.yml');
const NGINX_CONF = resolve(ROOT, 'docker/nginx.conf');
const DOCKERFILE = resolve(ROOT, 'docker/Dockerfile');
const INSTALL_HINT = 'install with `apt-get install -y docker-compose nginx` (the CI script does this)';
const ADMIN_KEY = 'k'.repeat(40);

// Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
const PATH = [process.env.PATH, '/usr/sbin', '/usr/local/sbin'].filter(Boolean).join(':');

// Host settings that compose would otherwise interpolate into the output.
const COMPOSE_VARS = [
  'ADMIN_API_KEY',
  'METRICS_API_KEY',
  'LOG_LEVEL',
  'API_PORT',
  'LB_PORT',
  'APP_REPLICAS',
  'POSTGRES_PASSWORD',
  'WAFLEET_TAG',
  'COMPOSE_FILE',
  'COMPOSE_PROFILES',
  'COMPOSE_PROJECT_NAME',
];

let tmp: string;

beforeAll(() => {
  if (!existsSync(COMPOSE_FILE)) throw new Error(`${COMPOSE_FILE} not found: run jest from the repository root`);
  tmp = mkdtempSync(join(tmpdir(), 'wafleet-docker-config-'));
  // An empty --env-file keeps a stray docker/.env from leaking into the checks.
  writeFileSync(join(tmp, 'empty.env'), '');
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...(options.env ?? process.env), PATH },
    input: options.input,
    timeout: 60_000,
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(`\`${command}\` is not installed: ${INSTALL_HINT}`);
  }
  if (result.error) throw result.error;
  return result;
}

function composeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of COMPOSE_VARS) delete env[name];
  return { ...env, ...extra };
}

function compose(args: string[], extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return run(
    'docker-compose',
    ['--env-file', join(tmp, 'empty.env'), '-f', COMPOSE_FILE, ...args],
    { env: composeEnv(extra) },
  );
}

function expectSuccess(result: SpawnSyncReturns<string>): void {
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
}

interface ComposeService {
  environment?: Record<string, string | null>;
  profiles?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}

// docker-compose 1.29 only prints YAML; its own dependency python3-yaml converts it.
function composeConfig(args: string[], extra: Record<string, string> = {}): Record<string, ComposeService> {
  const result = compose([...args, 'config'], extra);
  expectSuccess(result);
  const json = run('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: result.stdout,
  });
  expectSuccess(json);
  return (JSON.parse(json.stdout) as { services: Record<string, ComposeService> }).services;
}

function nginxTest(confPath: string): { status: number | null; output: string } {
  const prefix = mkdtempSync(join(tmp, 'nginx-'));
  // Real files rather than pipes: nginx opens /dev/stdout by path, which fails
  // with ENXIO on the socketpairs spawnSync uses for stdio.
  const logPath = join(prefix, 'output.log');
  const fd = openSync(logPath, 'w');
  try {
    const result = spawnSync(
      'nginx',
      ['-t', '-c', confPath, '-p', `${prefix}/`, '-e', 'stderr', '-g', `pid ${prefix}/nginx.pid;`],
      { cwd: ROOT, env: { ...process.env, PATH }, stdio: ['ignore', fd, fd], timeout: 60_000 },
    );
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new Error(`\`nginx\` is not installed: ${INSTALL_HINT}`);
    }
    if (result.error) throw result.error;
    return { status: result.status, output: readFileSync(logPath, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

describe('docker/compose.yml', () => {
  it('validates for the default topology without ADMIN_API_KEY', () => {
    // Also guards against a ${ADMIN_API_KEY:?...} on the replica: compose 1.29
    // interpolates all services before applying profiles, so it would break this.
    expectSuccess(compose(['config', '-q']));
  });

  it('validates for the distributed profile', () => {
    expectSuccess(compose(['--profile', 'distributed', 'config', '-q'], { ADMIN_API_KEY: ADMIN_KEY }));
  });

  it('rejects invalid values, so the validation can fail', () => {
    const result = compose(['--profile', 'distributed', 'config', '-q'], { APP_REPLICAS: 'many' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/replicas/);
  });

  it('runs api on the embedded database and only api outside the distributed profile', () => {
    const services = composeConfig([]);
    expect(services.api.environment?.DATABASE_URL).toBeUndefined();
    expect(services.api.environment?.SYNC_BACKEND).toBeUndefined();
    expect(services.api.profiles).toBeUndefined();
    for (const name of ['postgres', 'redis', 'replica', 'nginx']) {
      expect({ name, profiles: services[name]?.profiles }).toEqual({ name, profiles: ['distributed'] });
    }
  });

  it('configures the replicas for PostgreSQL and Redis with the shared admin key', () => {
    const services = composeConfig(['--profile', 'distributed'], { ADMIN_API_KEY: ADMIN_KEY, APP_REPLICAS: '3' });
    const env = services.replica.environment ?? {};
    expect(env.SYNC_BACKEND).toBe('redis');
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(env.REDIS_URL).toMatch(/^redis:\/\//);
    expect(env.ADMIN_API_KEY).toBe(ADMIN_KEY);
    expect(services.replica.deploy?.replicas).toBe(3);
  });

  it('never hard-codes an admin key', () => {
    const services = composeConfig(['--profile', 'distributed']);
    expect(services.api.environment?.ADMIN_API_KEY ?? null).toBeNull();
    expect(services.replica.environment?.ADMIN_API_KEY ?? null).toBeNull();
  });
});

describe('docker/nginx.conf', () => {
  const conf = readFileSync(NGINX_CONF, 'utf8');

  it('passes nginx -t', () => {
    const { status, output } = nginxTest(NGINX_CONF);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('test is successful') });
  });

  it('fails nginx -t when broken, so the check can fail', () => {
    const broken = conf.replace('proxy_pass $backend;', 'proxy_pass $backend');
    expect(broken).not.toBe(conf);
    const brokenPath = join(tmp, 'broken-nginx.conf');
    writeFileSync(brokenPath, broken);
    const { status, output } = nginxTest(brokenPath);
    expect(status).not.toBe(0);
    expect(output).toMatch(/test failed/);
  });

  it('proxies HTTP and WebSocket to re-resolved replicas without sticky sessions', () => {
    expect(conf).toMatch(/resolver\s+127\.0\.0\.11\b/);
    expect(conf).toMatch(/proxy_pass\s+\$\w+;/);
    expect(conf).toMatch(/proxy_http_version\s+1\.1;/);
    expect(conf).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(conf).toMatch(/proxy_set_header\s+X-Request-Id\s+\$\w+;/);
    expect(conf).toMatch(/client_max_body_size\s+70m;/);
    expect(conf).toMatch(/listen\s+8080;/);
    expect(conf).not.toMatch(/^\s*(include|ip_hash|sticky|hash)\b/m);

    // Must outlast Socket.IO's ping interval + timeout (25 s + 20 s).
    const readTimeout = /proxy_read_timeout\s+(\d+)s;/.exec(conf);
    expect(Number(readTimeout?.[1])).toBeGreaterThan(45);
  });
});

describe('docker/Dockerfile', () => {
  const lines = readFileSync(DOCKERFILE, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const instructions = (name: string): string[] =>
    lines.filter((line) => line.toUpperCase().startsWith(`${name} `)).map((line) => line.slice(name.length + 1).trim());

  it('is a multi-stage build', () => {
    expect(instructions('FROM').length).toBeGreaterThanOrEqual(2);
  });

  it('runs as a non-root user', () => {
    const users = instructions('USER');
    const user = users[users.length - 1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a HEALTHCHECK on /health', () => {
    const [healthcheck] = instructions('HEALTHCHECK');
    expect(healthcheck).toMatch(/\/health\b/);
    expect(healthcheck).not.toMatch(/\bcurl\b/);
  });

  it('starts the built API', () => {
    const cmds = instructions('CMD');
    const { main } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { main: string };
    expect(cmds[cmds.length - 1]).toBe(`["node", "${main}"]`);
  });
});
