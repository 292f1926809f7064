import type { BinaryNode } from 'baileys';
import { getBinaryNodeChild, jidDecode } from 'baileys';
import type { AccountRegistry } from './accounts';
import { MediaServer, type MediaServerOptions } from './media-server';
import { OutgoingMessages, type OutgoingMessagesOptions, type SentMessage } from './outgoing-messages';
import { answerRecipientIq } from './recipient-iqs';
import type { SimConnection } from './sim-connection';
import { VirtualPhones, type Chatstate, type RecipientFailure } from './virtual-phones';

export type MessagingOptions = OutgoingMessagesOptions & MediaServerOptions;

/**
 * What a logged-in client needs to send to other numbers: recipients' devices and keys, the server's
 * acks and the recipients' receipts, and a media host to upload to. The hub hands it the stanzas.
 */
export class Messaging {
  readonly phones: VirtualPhones;
  readonly media: MediaServer;
  private readonly outgoing: OutgoingMessages;
  /** The last `presence` each account set (`available`, `unavailable`). */
  private readonly presences = new Map<string, string>();

  constructor(
    private readonly accounts: AccountRegistry,
    deliver: (phone: string, node: BinaryNode) => Promise<void>,
    options: MessagingOptions,
    log: (event: Record<string, unknown>) => void,
  ) {
    this.phones = new VirtualPhones((phone) => accounts.find(phone)?.lid);
    this.media = new MediaServer(options);
    this.outgoing = new OutgoingMessages(this.phones, this.media, deliver, options, log);
  }

  start(host: string): Promise<void> {
    return this.media.start(host);
  }

  async stop(): Promise<void> {
    this.outgoing.stop();
    await this.media.stop();
  }

  /** @returns the answer to an iq about recipients or media, undefined for any other iq */
  async answerIq(iq: BinaryNode): Promise<BinaryNode | undefined> {
    if (iq.attrs.xmlns === 'w:m' && getBinaryNodeChild(iq, 'media_conn')) return this.media.answerMediaConn(iq);
    return answerRecipientIq(iq, this.phones);
  }

  /** @returns the `ack` for a `message` stanza, or undefined when the connection is not logged in */
  acceptMessage(connection: SimConnection, node: BinaryNode): BinaryNode | undefined {
    const payload = connection.payload;
    const phone = String(payload?.username ?? '');
    const account = this.accounts.find(phone);
    if (!payload || payload.devicePairingData || !account) return undefined;
    return this.outgoing.accept({ phone, device: payload.device ?? 0, lid: account.lid }, node);
  }

  /**
   * Takes a client's `chatstate` (typing in one chat) or `presence` (online for everyone). WhatsApp
   * answers neither; the sim keeps them for the control API. @returns whether the node was one of them
   */
  acceptPresence(connection: SimConnection, node: BinaryNode): boolean {
    if (node.tag !== 'chatstate' && node.tag !== 'presence') return false;
    const phone = String(connection.payload?.username ?? '');
    if (!phone || connection.payload?.devicePairingData) return true;
    if (node.tag === 'presence') {
      this.presences.set(phone, node.attrs.type ?? 'available');
      return true;
    }
    const decoded = node.attrs.to ? jidDecode(node.attrs.to) : undefined;
    const target = decoded ? this.phones.resolve(decoded.user, decoded.server) : undefined;
    const child = Array.isArray(node.content) ? node.content[0] : undefined;
    if (!target || (child?.tag !== 'composing' && child?.tag !== 'paused')) return true;
    const state = child.tag === 'composing' && child.attrs.media === 'audio' ? 'recording' : child.tag;
    target.chatstates.push({ from: phone, state, at: Date.now() });
    return true;
  }

  chatstatesTo(phone: string): Chatstate[] {
    return [...(this.phones.find(phone)?.chatstates ?? [])];
  }

  /** The last presence the account set, if it set one. */
  presenceOf(phone: string): string | undefined {
    return this.presences.get(phone);
  }

  messagesTo(phone: string): SentMessage[] {
    return this.outgoing.messagesTo(phone);
  }

  countByRecipient(): Record<string, number> {
    return this.outgoing.countByRecipient();
  }

  /** Any number can be made to fail, one the sim has never seen included. */
  failRecipient(phone: string, failure: RecipientFailure): void {
    this.phones.ensure(phone).failure = failure;
  }

  /** An offline recipient comes back online and confirms what it was sent meanwhile. */
  clearRecipientFailure(phone: string): void {
    const found = this.phones.find(phone);
    if (!found) return;
    const wasOffline = found.failure?.mode === 'offline';
    found.failure = undefined;
    if (wasOffline) this.outgoing.backOnline(found.phone);
  }
}
