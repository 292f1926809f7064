import { generateMessageIDV2 } from 'baileys';

/**
 * A new WhatsApp message id, shaped as WhatsApp Web makes them (`3EB0` and 18 hex digits). Callers make
 * it before sending and store it first, so a resend carries the same id. `meJid`, the sending account's
 * JID, is mixed in as WhatsApp Web does; without it the id is random all the same.
 */
export function newMessageId(meJid?: string): string {
  return generateMessageIDV2(meJid);
}
