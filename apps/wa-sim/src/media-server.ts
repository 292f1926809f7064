import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BinaryNode } from 'baileys';
import { iqResult } from './stanzas';

export interface MediaServerOptions {
  /** Uploads above this size are refused with 413. @default 64 MiB */
  maxUploadBytes?: number;
}

/** A blob a client uploaded, as the sim keeps it: the encrypted bytes, unread. */
export interface StoredMedia {
  directPath: string;
  /** The upload path's media kind (`image`, `ptt`, `audio`, …) from `/mms/<kind>/…`. */
  kind: string;
  bytes: Buffer;
}

const UPLOAD_PATH = /^\/mms\/([a-z-]+)\/[^/]+$/;

/**
 * WhatsApp's media hosts on loopback: clients upload encrypted media over HTTPS to the host that
 * `media_conn` names, and fetch it back by its direct path. Baileys uploads with Node's https module
 * through `fetchAgent`, so a client trusts this server with `new https.Agent({ ca: certificate })`.
 */
export class MediaServer {
  private readonly auth = randomBytes(24).toString('base64url');
  private readonly stored = new Map<string, StoredMedia>();
  private server?: Server;
  private pem?: string;
  private hostname = '';

  constructor(private readonly options: MediaServerOptions = {}) {}

  /** Listens on a free port of `host` with a certificate made for this run. */
  async start(host: string): Promise<void> {
    const advertised = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const { key, cert } = await selfSignedCertificate(advertised);
    const server = createServer({ key, cert }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    this.server = server;
    this.pem = cert;
    this.hostname = `${advertised}:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** The PEM certificate the media host presents; self-signed, so a client trusts it as its CA. */
  certificate(): string {
    if (!this.pem) throw new Error('the media server is not started');
    return this.pem;
  }

  find(directPath: string): StoredMedia | undefined {
    return this.stored.get(new URL(directPath, 'https://media').pathname);
  }

  list(): StoredMedia[] {
    return [...this.stored.values()];
  }

  /**
   * Stores encrypted media under a new direct path, as an upload does; also how other phones' media
   * reaches the host for the sim's accounts to download. @returns the stored blob and its URL
   */
  keep(kind: string, bytes: Buffer): StoredMedia & { url: string } {
    // Shaped like WhatsApp's direct paths; only this server resolves them.
    const directPath = `/v/t62.7118-24/${randomBytes(16).toString('hex')}.enc`;
    const media = { directPath, kind, bytes };
    this.stored.set(directPath, media);
    return { ...media, url: `https://${this.hostname}${directPath}` };
  }

  /** The answer to `iq xmlns=w:m` with `media_conn`: one host, and the auth every upload must carry. */
  answerMediaConn(iq: BinaryNode): BinaryNode {
    return iqResult(iq, [
      {
        tag: 'media_conn',
        attrs: { auth: this.auth, ttl: '300', auth_ttl: '21600', max_buckets: '12' },
        content: [{ tag: 'host', attrs: { hostname: this.hostname, maxContentLengthBytes: String(this.maxBytes) } }],
      },
    ]);
  }

  private get maxBytes(): number {
    return this.options.maxUploadBytes ?? 64 * 1024 * 1024;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://media');
    const upload = UPLOAD_PATH.exec(url.pathname);
    if (req.method === 'POST' && upload) {
      if (url.searchParams.get('auth') !== this.auth) return json(res, 401, { error: 'bad auth' });
      this.receive(req, upload[1]!)
        .then((media) => json(res, 200, { url: media.url, direct_path: media.directPath }))
        .catch((err: unknown) => json(res, err instanceof TooLarge ? 413 : 400, { error: String(err) }));
      return;
    }
    const media = req.method === 'GET' ? this.stored.get(url.pathname) : undefined;
    if (!media) return json(res, 404, { error: 'not found' });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': media.bytes.length }).end(media.bytes);
  }

  private async receive(req: IncomingMessage, kind: string): Promise<StoredMedia & { url: string }> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBytes) throw new TooLarge(`upload exceeds ${this.maxBytes} bytes`);
      chunks.push(chunk);
    }
    return this.keep(kind, Buffer.concat(chunks));
  }
}

class TooLarge extends Error {}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * Node's crypto cannot issue X.509 certificates, so the `openssl` CLI makes one: P-256, valid two
 * days, for the advertised host.
 */
async function selfSignedCertificate(host: string): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wa-sim-media-'));
  const san = /^[\d.]+$/.test(host) ? `IP:${host},DNS:localhost` : `DNS:${host},IP:127.0.0.1`;
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '2', '-subj', '/CN=wa-sim media', '-addext', `subjectAltName=${san}`,
    ]);
    const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem'), 'utf8'), readFile(join(dir, 'cert.pem'), 'utf8')]);
    return { key, cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
