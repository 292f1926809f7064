import { randomBytesFromPool } from '@wafleet/core';

/** Random bytes in an id: 18 hex digits, as WhatsApp Web's own ids carry after their `3EB0`. */
const RANDOM_BYTES = 9;

/**
 * A new WhatsApp message id, shaped as WhatsApp Web makes them: `3EB0` and 18 hex digits, here 72
 * random bits. Callers make it before sending and store it first, so a resend carries the same id.
 * Every accepted send makes one, so the bytes come from a pool drawn once per many ids.
 */
export function newMessageId(): string {
  return `3EB0${randomBytesFromPool(RANDOM_BYTES).toString('hex').toUpperCase()}`;
}
