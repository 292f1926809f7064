import { randomBytes } from 'node:crypto';
import type { BinaryNode, proto } from 'baileys';

/**
 * `pending`: waiting for the account to be online; `delivered`: sent, but the device has not
 * acknowledged it, so the next connection gets it again; `acked`: the device sent a receipt;
 * `refused`: the device answered with an error `ack` (it could not read it, and asked for no new copy),
 * so it is not delivered again.
 */
export type InboxStatus = 'pending' | 'delivered' | 'acked' | 'refused';

/** A message for an account, as the control API shows it. */
export interface InboxMessage {
  id: string;
  /** The sender's phone number. */
  from: string;
  /** `reaction`, `edit` and `revoke` act on the message `target` names. */
  type: 'text' | 'image' | 'reaction' | 'edit' | 'revoke';
  /** The text, an image's caption ('' without one), a reaction's emoji or an edit's new text. */
  text: string;
  /** For a reaction, edit or revoke: the id of the message it acts on. */
  target?: string;
  /** Unix seconds at which the sim accepted it; every delivery carries this time. */
  t: number;
  status: InboxStatus;
  /** How many times it was sent to a device: more than 1 is a redelivery. */
  deliveries: number;
  /** Unix seconds at which the account's device sent a read receipt for it; absent until then. */
  readAt?: number;
}

export interface InboxEntry extends InboxMessage {
  /** Its place among every account's messages, in the order the sim accepted them. */
  seq: number;
  /** What the sender's phone encrypts: the same content for every device and every delivery. */
  message: proto.IMessage;
  /** The stanza as first encrypted for a device; redelivered as is, as WhatsApp cannot re-encrypt. */
  sealed?: { device: number; stanza: BinaryNode };
}

/** Messages addressed to each account, in the order they were sent, kept for the sim's lifetime. */
export class Inboxes {
  private readonly byPhone = new Map<string, InboxEntry[]>();
  private last = 0;

  /** The `seq` of the message accepted last (0 before the first). */
  get latest(): number {
    return this.last;
  }

  add(phone: string, content: Pick<InboxEntry, 'from' | 'type' | 'text' | 'message' | 'target'>, now = new Date()): InboxEntry {
    const entry: InboxEntry = {
      id: randomBytes(10).toString('hex').toUpperCase(),
      seq: ++this.last,
      ...content,
      t: Math.floor(now.getTime() / 1000),
      status: 'pending',
      deliveries: 0,
    };
    const inbox = this.byPhone.get(phone) ?? [];
    inbox.push(entry);
    this.byPhone.set(phone, inbox);
    return entry;
  }

  /** Everything the device has neither acknowledged nor refused yet, oldest first. */
  unacknowledged(phone: string): InboxEntry[] {
    return (this.byPhone.get(phone) ?? []).filter((entry) => entry.status !== 'acked' && entry.status !== 'refused');
  }

  markDelivered(entry: InboxEntry): void {
    entry.deliveries++;
    if (entry.status === 'pending') entry.status = 'delivered';
  }

  /** The device refused it; a copy it reads later (sent again after a retry receipt) still acknowledges it. */
  refuse(phone: string, id: string): void {
    const entry = this.find(phone, id);
    if (entry && entry.status !== 'acked') entry.status = 'refused';
  }

  /** @returns whether `id` was a message of this account */
  acknowledge(phone: string, id: string): boolean {
    const entry = this.find(phone, id);
    if (entry) entry.status = 'acked';
    return entry !== undefined;
  }

  /** A read receipt: the device's user opened these messages. @returns the ids that were this account's */
  markRead(phone: string, ids: string[], now = new Date()): string[] {
    const read = (this.byPhone.get(phone) ?? []).filter((entry) => ids.includes(entry.id));
    for (const entry of read) entry.readAt ??= Math.floor(now.getTime() / 1000);
    return read.map((entry) => entry.id);
  }

  find(phone: string, id: string): InboxEntry | undefined {
    return this.byPhone.get(phone)?.find((entry) => entry.id === id);
  }

  list(phone: string): InboxMessage[] {
    return (this.byPhone.get(phone) ?? []).map(view);
  }
}

export function view({ id, from, type, text, target, t, status, deliveries, readAt }: InboxMessage): InboxMessage {
  return { id, from, type, text, ...(target ? { target } : {}), t, status, deliveries, ...(readAt ? { readAt } : {}) };
}
