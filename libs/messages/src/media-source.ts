import { nonPublicAddressOf, ValidationFailedError } from '@wafleet/core';
import type { MediaType } from '@wafleet/engines';
import { MediaTooLargeError } from './messages.errors';

/** Media as a request gives it: a URL to fetch or base64 bytes, and optionally their type and file name. */
export interface MediaInput {
  url?: string;
  base64?: string;
  mimetype?: string;
  fileName?: string;
}

export interface ResolvedMedia {
  data: Buffer;
  mimetype: string;
  fileName?: string;
}

const FETCH_TIMEOUT_MS = 30_000;

/** The types WhatsApp plays or shows for each kind; a document may be anything. */
const ACCEPTED: Record<Exclude<MediaType, 'document'>, RegExp> = {
  image: /^image\/(jpeg|png)$/,
  video: /^video\/(mp4|3gpp)$/,
  audio: /^audio\/(ogg|mpeg|mp4|aac|amr|opus)(;.*)?$/,
  sticker: /^image\/webp$/,
};

/** Types recognised from the first bytes, for media given without a mimetype. */
const SIGNATURES: [RegExp | ((bytes: Buffer) => boolean), string][] = [
  [(b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff, 'image/jpeg'],
  [(b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'image/png'],
  [(b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP', 'image/webp'],
  [(b) => b.subarray(4, 8).toString('latin1') === 'ftyp', 'video/mp4'],
  [(b) => b.subarray(0, 4).toString('latin1') === 'OggS', 'audio/ogg; codecs=opus'],
  [(b) => b.subarray(0, 3).toString('latin1') === 'ID3' || (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0), 'audio/mpeg'],
  [(b) => b.subarray(0, 5).toString('latin1') === '%PDF-', 'application/pdf'],
];

function sniff(bytes: Buffer): string | undefined {
  return SIGNATURES.find(([test]) => (typeof test === 'function' ? test(bytes) : test.test(bytes.toString('latin1'))))?.[1];
}

const invalid = (field: string, problem: string) => new ValidationFailedError([{ field, problems: [problem] }]);

/**
 * Fetches or decodes a message's media, within MEDIA_MAX_BYTES, and settles its type: the one given,
 * else the one the bytes show, checked against what WhatsApp accepts for the kind. A URL must be
 * http(s), must not redirect, and (unless `allowPrivate`) must resolve to public addresses only.
 */
export async function resolveMedia(
  kind: MediaType,
  input: MediaInput,
  options: { maxBytes: number; allowPrivate: boolean },
): Promise<ResolvedMedia> {
  if (!!input.url === !!input.base64) throw invalid('media', 'media must have exactly one of url or base64');
  const fetched = input.url ? await fetchMedia(input.url, options) : { data: decodeBase64(input.base64!, options.maxBytes) };
  if (fetched.data.length === 0) throw invalid('media', 'media is empty');
  const declared = input.mimetype?.trim().toLowerCase() || undefined;
  const mimetype = declared ?? sniff(fetched.data) ?? (kind === 'document' ? fetched.contentType ?? 'application/octet-stream' : fetched.contentType);
  if (!mimetype) throw invalid('media.mimetype', `media.mimetype is needed: the ${kind}'s type could not be told from its bytes`);
  if (kind !== 'document' && !ACCEPTED[kind].test(mimetype)) {
    throw invalid('media.mimetype', `media.mimetype ${JSON.stringify(mimetype)} is not one WhatsApp accepts for ${kind} (${ACCEPTED[kind].source})`);
  }
  return { data: fetched.data, mimetype, fileName: input.fileName };
}

function decodeBase64(base64: string, maxBytes: number): Buffer {
  const compact = base64.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) throw invalid('media.base64', 'media.base64 is not base64');
  if (Math.floor((compact.length * 3) / 4) - 2 > maxBytes) throw new MediaTooLargeError('media.base64', maxBytes);
  const data = Buffer.from(compact, 'base64');
  if (data.length > maxBytes) throw new MediaTooLargeError('media.base64', maxBytes);
  return data;
}

async function fetchMedia(raw: string, options: { maxBytes: number; allowPrivate: boolean }): Promise<{ data: Buffer; contentType?: string }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('media.url', 'media.url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('media.url', 'media.url must be http or https');
  if (!options.allowPrivate) {
    let blocked: string | undefined;
    try {
      blocked = await nonPublicAddressOf(url.hostname);
    } catch {
      throw invalid('media.url', `media.url's host ${url.hostname} does not resolve`);
    }
    if (blocked) throw invalid('media.url', `media.url resolves to ${blocked}, which is not a public address (set MEDIA_URL_ALLOW_PRIVATE=true to allow it)`);
  }
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    throw invalid('media.url', `media.url could not be fetched: ${(error as Error).message}`);
  }
  if (response.status >= 300 && response.status < 400) throw invalid('media.url', `media.url redirects (${response.status}); give the final URL`);
  if (!response.ok || !response.body) throw invalid('media.url', `media.url answered ${response.status}`);
  const declaredLength = Number(response.headers.get('content-length') ?? NaN);
  if (declaredLength > options.maxBytes) {
    await response.body.cancel();
    throw new MediaTooLargeError('media.url', options.maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > options.maxBytes) throw new MediaTooLargeError('media.url', options.maxBytes);
    chunks.push(Buffer.from(chunk));
  }
  const contentType = response.headers.get('content-type')?.split(',')[0]?.trim().toLowerCase() || undefined;
  return { data: Buffer.concat(chunks), contentType: contentType === 'application/octet-stream' ? undefined : contentType };
}
