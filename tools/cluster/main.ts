/**
 * `npm run cluster -- --replicas 3 [--port 8080] [--postgres URL] [--redis URL]`: a local cluster on loopback until Ctrl-C or SIGTERM.
 * The URLs go to stdout; progress and errors to stderr.
 */
import { LocalCluster } from './local-cluster';

const USAGE =
  'usage: npm run cluster -- [--replicas N (1 to 64, default 3)] [--port P (nginx, default a free port)] ' +
  '[--postgres URL (where to create the throwaway database)] [--redis URL]';

interface Args {
  replicas: number;
  port?: number;
  postgres?: string;
  redis?: string;
}

function wholeNumber(flag: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || n < min || n > max) throw new Error(`${flag} takes a whole number from ${min} to ${max}; got ${raw ?? 'nothing'}.`);
  return n;
}

function url(flag: string, raw: string | undefined, schemes: string[]): string {
  const scheme = /^([a-z]+):\/\//.exec(raw ?? '')?.[1];
  if (!scheme || !schemes.includes(scheme)) throw new Error(`${flag} takes a ${schemes.join(':// or ')}:// URL; got ${raw ?? 'nothing'}.`);
  return raw!;
}

function parseArgs(argv: string[]): Args {
  const parsed: Args = { replicas: 3 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--replicas') parsed.replicas = wholeNumber(flag, value(), 1, 64);
    else if (flag === '--port') parsed.port = wholeNumber(flag, value(), 1, 65535);
    else if (flag === '--postgres') parsed.postgres = url(flag, value(), ['postgres', 'postgresql']);
    else if (flag === '--redis') parsed.redis = url(flag, value(), ['redis', 'rediss']);
    else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
  }
  return parsed;
}

function describe(cluster: LocalCluster): string {
  const replicas = Array.from({ length: cluster.replicaCount }, (_, i) => cluster.replica(i)).map((r) => `  ${r.instanceId.padEnd(11)} ${r.url}  (pid ${r.pid})`);
  return [
    `wafleet cluster: ${cluster.replicaCount} replicas behind nginx`,
    `  nginx       ${cluster.url}`,
    ...replicas,
    `  wa-sim      ${cluster.simUrl}`,
    `  admin key   ${cluster.adminApiKey}`,
    `  metrics key ${cluster.metricsApiKey}`,
    `  database    ${cluster.databaseName}, Redis prefix ${cluster.redisKeyPrefix}`,
    'Ctrl-C stops everything.',
  ].join('\n');
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`starting wa-sim, ${args.replicas} replicas and nginx…\n`);
  let interrupted = false;
  let wake: () => void = () => (interrupted = true);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => wake());
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({ replicas: args.replicas, nginxPort: args.port, postgresAdminUrl: args.postgres, redisUrl: args.redis });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  if (!interrupted) {
    process.stdout.write(`${describe(cluster)}\n`);
    await new Promise<void>((resolve) => (wake = resolve));
  }
  process.stderr.write('stopping…\n');
  try {
    await cluster.stop();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write('stopped; nothing left running.\n');
  return 0;
}

void main().then((code) => process.exit(code));
