/**
 * nginx in the foreground as a child process, everything it writes (config, pid, temp files) in one
 * folder of its own. The shape follows docker/nginx.conf (WebSocket upgrade, request id, no sticky
 * sessions) with a static upstream of loopback ports instead of Docker DNS.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { GroupProcess, spawnGroup, waitForOk } from './process-group';

export interface NginxProxyOptions {
  port: number;
  upstreamPorts: number[];
  /** @default found on PATH, else /usr/sbin/nginx */
  binary?: string;
  /** Seconds nginx waits for an answer (and between WebSocket frames) before giving up on a replica. @default 75 */
  readTimeoutSeconds?: number;
  /** Log every request to nginx's stdout. @default false */
  accessLog?: boolean;
}

/** The nginx executable: PATH first, then Debian's /usr/sbin (not on a normal user's PATH). */
export function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  return dirs.filter((folder) => folder.startsWith('/')).map((folder) => join(folder, 'nginx')).find(existsSync);
}

export function renderNginxConfig(folder: string, o: NginxProxyOptions): string {
  const servers = o.upstreamPorts.map((port) => `        server 127.0.0.1:${port};`).join('\n');
  const timeout = o.readTimeoutSeconds ?? 75;
  return `# Written by tools/cluster for one local cluster; rewritten when replicas come or go.
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 2;
pid ${folder}/nginx.pid;
error_log stderr warn;

events {
    worker_connections 4096;
}

http {
    log_format main '$remote_addr - [$time_local] "$request" $status $body_bytes_sent '
                    '$request_time rid=$req_id upstream=$upstream_addr';
    access_log ${o.accessLog ? '/dev/stdout main' : 'off'};
    server_tokens off;

    client_body_temp_path ${folder}/client_body;
    proxy_temp_path ${folder}/proxy;
    fastcgi_temp_path ${folder}/fastcgi;
    uwsgi_temp_path ${folder}/uwsgi;
    scgi_temp_path ${folder}/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    map $http_x_request_id $req_id {
        default $http_x_request_id;
        ''      $request_id;
    }

    # Round robin, no stickiness. A replica that refuses or fails is skipped for the next one and left
    # out for fail_timeout, so a killed replica costs no failed request.
    upstream replicas {
${servers}
    }

    server {
        listen 127.0.0.1:${o.port};
        server_name _;
        client_max_body_size 70m;

        location / {
            proxy_pass http://replicas;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;

            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;

            proxy_set_header Host $host;
            proxy_set_header X-Request-Id $req_id;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;

            proxy_read_timeout ${timeout}s;
            proxy_send_timeout ${timeout}s;
        }
    }
}
`;
}

export class NginxProxy {
  private constructor(
    private readonly folder: string,
    private readonly options: NginxProxyOptions,
    private readonly process: GroupProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Starts nginx and waits until `readyPath` answers 200 through it. */
  static async start(options: NginxProxyOptions, readyPath = '/health'): Promise<NginxProxy> {
    const binary = options.binary ?? findNginx();
    if (!binary || !existsSync(binary)) {
      throw new Error('nginx is not installed: install it with `apt-get install -y nginx` (the cluster runs it as a child process, no service needed).');
    }
    const folder = mkdtempSync(join(tmpdir(), 'wafleet-nginx-'));
    const config = join(folder, 'nginx.conf');
    writeFileSync(config, renderNginxConfig(folder, options));
    // -e: the compiled-in error log under /var/log is opened before the config is read.
    const proc = spawnGroup(binary, ['-p', folder, '-c', config, '-e', join(folder, 'error.log'), '-g', 'daemon off;'], { env: { PATH: process.env.PATH ?? '' } });
    const proxy = new NginxProxy(folder, { ...options, binary }, proc);
    try {
      await waitForOk(proxy.url + readyPath, proc, 'nginx', 20_000);
    } catch (error) {
      await proxy.stop();
      throw error;
    }
    return proxy;
  }

  /** Rewrites the upstream list and reloads (SIGHUP): new workers take new requests, old ones finish theirs. */
  setUpstreams(ports: number[]): void {
    this.options.upstreamPorts = ports;
    writeFileSync(join(this.folder, 'nginx.conf'), renderNginxConfig(this.folder, this.options));
    this.process.signal('SIGHUP');
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGTERM', 5000);
    rmSync(this.folder, { recursive: true, force: true });
  }

  output(): string {
    return this.process.output();
  }
}
