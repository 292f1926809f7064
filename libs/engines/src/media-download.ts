import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { get, type Agent } from 'node:https';
import { getMediaKeys } from 'baileys';
import { MediaUnavailableError } from './engine.errors';
import type { MediaDescriptor } from './inbound-message';

/** WhatsApp's media host when a message names none. */
const DEFAULT_MEDIA_HOST = 'mmg.whatsapp.net';
/** WhatsApp appends the first 10 bytes of HMAC-SHA256(iv ‖ ciphertext) to each encrypted file. */
const MAC_LENGTH = 10;

/**
 * Fetches a message's media from WhatsApp's media host and decrypts it, checking it against the hashes
 * and MAC the message carries. It needs nothing but the descriptor (no socket), so any replica can do it.
 * Uses Node's https (not fetch) so that `agent` can trust a private CA such as wa-sim's media host.
 */
export async function downloadMedia(media: MediaDescriptor, agent?: Agent): Promise<Buffer> {
  const { mediaType, directPath, url, mediaKey, fileEncSha256, fileSha256 } = media.download ?? {};
  if (!mediaKey || (!directPath && !url)) throw new MediaUnavailableError('the message carries no media key or location');
  const host = url ? new URL(url).host : DEFAULT_MEDIA_HOST;
  const file = await fetchBytes(directPath ? `https://${host}${directPath}` : url!, agent);
  if (fileEncSha256 && !sameBytes(sha256(file), Buffer.from(fileEncSha256, 'base64'))) {
    throw new MediaUnavailableError('the encrypted file does not match its hash');
  }
  const { iv, cipherKey, macKey } = await getMediaKeys(Buffer.from(mediaKey, 'base64'), mediaType);
  const encrypted = file.subarray(0, -MAC_LENGTH);
  const mac = createHmac('sha256', macKey!).update(iv).update(encrypted).digest().subarray(0, MAC_LENGTH);
  if (file.length <= MAC_LENGTH || !sameBytes(mac, file.subarray(-MAC_LENGTH))) throw new MediaUnavailableError('the file fails its MAC check');
  let plain: Buffer;
  try {
    const aes = createDecipheriv('aes-256-cbc', cipherKey, iv);
    plain = Buffer.concat([aes.update(encrypted), aes.final()]);
  } catch {
    throw new MediaUnavailableError('the file does not decrypt with the message key');
  }
  if (fileSha256 && !sameBytes(sha256(plain), Buffer.from(fileSha256, 'base64'))) {
    throw new MediaUnavailableError('the decrypted file does not match its hash');
  }
  return plain;
}

function fetchBytes(url: string, agent: Agent | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { ...(agent ? { agent } : {}), headers: { Origin: 'https://web.whatsapp.com' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new MediaUnavailableError(`the media host answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', (error) => reject(new MediaUnavailableError(`the transfer broke off: ${error.message}`)));
    });
    request.setTimeout(60_000, () => request.destroy(new Error('no answer within 60 s')));
    request.on('error', (error) => reject(new MediaUnavailableError(`the media host cannot be reached: ${error.message}`)));
  });
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
