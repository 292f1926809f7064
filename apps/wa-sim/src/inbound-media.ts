import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { getMediaKeys, type proto } from 'baileys';
import type { MediaServer } from './media-server';

/** What a phone sends: the plain image and how to present it. */
export interface InboundImage {
  data: Buffer;
  /** @default 'image/jpeg' */
  mimetype?: string;
  caption?: string;
}

/**
 * Encrypts `image` as the sending phone does, with a media key only the message carries, keeps it on
 * the media host, and returns the `imageMessage` that points at it.
 */
export async function hostImage(media: MediaServer, image: InboundImage): Promise<proto.Message.IImageMessage> {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, 'image');
  if (!macKey) throw new Error('image media keys come without a MAC key');
  const aes = createCipheriv('aes-256-cbc', cipherKey, iv);
  const encrypted = Buffer.concat([aes.update(image.data), aes.final()]);
  // WhatsApp appends the first 10 bytes of HMAC-SHA256(iv ‖ ciphertext) and hashes the whole file.
  const mac = createHmac('sha256', macKey).update(iv).update(encrypted).digest().subarray(0, 10);
  const file = Buffer.concat([encrypted, mac]);
  const { url, directPath } = media.keep('image', file);
  return {
    url,
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

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}
