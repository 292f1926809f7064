import { execFile } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getMediaKeys, type proto } from 'baileys';

/** What a phone sends: the plain image and how to present it. */
export interface InboundImage {
  data: Buffer;
  /** @default 'image/jpeg' */
  mimetype?: string;
  caption?: string;
}

/**
 * Where other phones' media lives for the accounts to download, as WhatsApp's media hosts keep it:
 * encrypted with a per-file media key that only the message carries, fetched over HTTPS by direct
 * path. It starts on the first image, with a certificate made for this run; a client trusts it
 * through `certificate`.
 */
export class InboundMediaHost {
  private readonly blobs = new Map<string, Buffer>();
  private server?: Promise<{ server: Server; host: string; certificate: string }>;

  /** The PEM a client must trust to download; undefined until the first image is hosted. */
  async certificate(): Promise<string | undefined> {
    return this.server && (await this.server).certificate;
  }

  /** Encrypts `image` as WhatsApp does, hosts it, and returns the `imageMessage` that points at it. */
  async host(image: InboundImage): Promise<proto.Message.IImageMessage> {
    const { host } = await (this.server ??= this.listen());
    const mediaKey = randomBytes(32);
    const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, 'image');
    if (!macKey) throw new Error('image media keys come without a MAC key');
    const aes = createCipheriv('aes-256-cbc', cipherKey, iv);
    const encrypted = Buffer.concat([aes.update(image.data), aes.final()]);
    // WhatsApp appends the first 10 bytes of HMAC-SHA256(iv ‖ ciphertext) and hashes the whole file.
    const mac = createHmac('sha256', macKey).update(iv).update(encrypted).digest().subarray(0, 10);
    const file = Buffer.concat([encrypted, mac]);
    const directPath = `/v/t62.7118-24/${randomBytes(16).toString('hex')}.enc`;
    this.blobs.set(directPath, file);
    return {
      url: `https://${host}${directPath}`,
      directPath,
      mimetype: image.mimetype ?? 'image/jpeg',
      caption: image.caption,
      mediaKey,
      fileSha256: sha256(image.data),
      fileEncSha256: sha256(file),
      fileLength: image.data.length,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    };
  }

  async stop(): Promise<void> {
    const started = this.server && (await this.server.catch(() => undefined));
    if (!started) return;
    const closed = new Promise<void>((resolve) => started.server.close(() => resolve()));
    started.server.closeAllConnections();
    await closed;
  }

  private async listen(): Promise<{ server: Server; host: string; certificate: string }> {
    const { key, cert } = await selfSignedCertificate('127.0.0.1');
    const server = createServer({ key, cert }, (req, res) => {
      const blob = req.method === 'GET' ? this.blobs.get(new URL(req.url ?? '/', 'https://media').pathname) : undefined;
      if (!blob) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length }).end(blob);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, certificate: cert };
  }
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Node cannot issue certificates itself; the openssl CLI can, in a few milliseconds for an EC key. */
async function selfSignedCertificate(ip: string): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wa-sim-media-'));
  try {
    const [keyPath, certPath] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`,
    ]);
    return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
