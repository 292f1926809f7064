import { jidDecode } from 'baileys';
import { createHash, randomFillSync } from 'node:crypto';

const RANDOM_BYTES = 16;
/** Ids' worth of random bytes drawn at once: one system call per this many ids instead of one per id. */
const IDS_PER_DRAW = 256;
const drawn = Buffer.alloc(RANDOM_BYTES * IDS_PER_DRAW);
let nextDrawn = IDS_PER_DRAW;

/** 16 fresh random bytes, each handed out once. */
function randomBytesForId(): Buffer {
  if (nextDrawn === IDS_PER_DRAW) {
    randomFillSync(drawn);
    nextDrawn = 0;
  }
  const start = nextDrawn++ * RANDOM_BYTES;
  return drawn.subarray(start, start + RANDOM_BYTES);
}

/**
 * A new WhatsApp message id, shaped as WhatsApp Web makes them (`3EB0` and 18 hex digits): a digest of
 * the time in seconds, the sending account and 16 random bytes. Callers make it before sending and store
 * it first, so a resend carries the same id. `meJid`, the sending account's JID, is mixed in as WhatsApp
 * Web does; without it the id is random all the same. Every accepted send makes one, so the random bytes
 * are drawn in batches rather than with a system call each.
 */
export function newMessageId(meJid?: string): string {
  const data = Buffer.alloc(8 + 20 + RANDOM_BYTES);
  data.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)));
  const user = meJid ? jidDecode(meJid)?.user : undefined;
  if (user) data.write(`${user}@c.us`, 8, 20);
  randomBytesForId().copy(data, 8 + 20);
  return `3EB0${createHash('sha256').update(data).digest('hex').slice(0, 18).toUpperCase()}`;
}
