import { getBinaryNodeChild, getBinaryNodeChildren, proto, type BinaryNode } from 'baileys';
import type { LinkedDevice } from './accounts';
import { Inboxes, view, type InboxEntry, type InboxMessage } from './inbox';
import { hostImage, type InboundImage } from './inbound-media';
import type { MediaServer } from './media-server';
import { SenderPhones } from './sender-phones';
import type { SimConnection } from './sim-connection';
import { WaSimError } from './wa-sim.errors';

/** What the sender does to an earlier message: react to it, or (its own) edit or revoke it. */
export type MessageAction =
  | { type: 'reaction'; target: string; emoji: string }
  | { type: 'edit'; target: string; text: string }
  | { type: 'revoke'; target: string };

/** The stanza `edit` attribute WhatsApp puts on an edit (1) and on a sender's revoke (7). */
const EDIT_ATTR: Partial<Record<string, string>> = { edit: '1', revoke: '7' };

/** The logged-in connection of an account and the linked device it speaks for. */
export interface LiveDevice {
  connection: SimConnection;
  device: LinkedDevice;
}

/**
 * Messages from other phones to the sim's accounts, with WhatsApp's delivery guarantees: a message for
 * an account that is offline (or whose device has not uploaded its keys yet) waits; each new connection
 * of the account gets every message its device has not acknowledged with a receipt, in order. What
 * waited is delivered from the offline queue as WhatsApp does, with an `offline` attribute (Baileys then
 * reports it as a `messages.upsert` of type `append`, not `notify`); what comes while the device is
 * online goes without. The receipts other phones send for the account's own messages wait the same way
 * while it has no live connection, and follow the waiting messages at its next login.
 */
export class InboundMessages {
  private readonly inboxes = new Inboxes();
  private readonly senders = new SenderPhones();
  /** Per account, so deliveries never overtake each other while one is being encrypted. */
  private readonly queues = new Map<string, Promise<number>>();
  /** Message ids already sent on each connection: one connection gets a message once. */
  private readonly sentOn = new WeakMap<SimConnection, Set<string>>();
  /** Per connection, the last inbox entry (`seq`) accepted before it logged in. */
  private readonly waitedUpTo = new WeakMap<SimConnection, number>();
  /** Per account, receipts that came while it had no live connection, oldest first. */
  private readonly heldReceipts = new Map<string, BinaryNode[]>();

  constructor(
    private readonly media: MediaServer,
    private readonly liveDevice: (phone: string) => LiveDevice | undefined,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {}

  /** Accepts a text from phone `from` for account `phone` and sends it if the account is online. */
  async acceptText(phone: string, from: string, text: string): Promise<InboxMessage> {
    return this.accept(phone, { from, type: 'text', text, message: { conversation: text } });
  }

  /** As {@link acceptText}; the image is encrypted and hosted first, as the sender's phone uploads it. */
  async acceptImage(phone: string, from: string, image: InboundImage): Promise<InboxMessage> {
    const imageMessage = await hostImage(this.media, image);
    return this.accept(phone, { from, type: 'image', text: image.caption ?? '', message: { imageMessage } });
  }

  /**
   * Phone `from` reacts to, edits or revokes message `target` in its chat with account `phone`. A
   * reaction may target any message; an edit or revoke only one `from` sent, as WhatsApp allows.
   * @throws WaSimError 404 `unknown_message` for an edit or revoke of a message `from` did not send
   */
  async acceptAction(phone: string, from: string, action: MessageAction): Promise<InboxMessage> {
    const targeted = this.inboxes.find(phone, action.target);
    const sendersOwn = targeted?.from === from;
    if (action.type !== 'reaction' && !sendersOwn) {
      throw new WaSimError('unknown_message', 404, `${from} sent ${phone} no message ${action.target} to ${action.type}`);
    }
    // Keys inside a message are the sender's view: the chat is the account, `fromMe` the sender's own message.
    const key = { remoteJid: `${phone}@s.whatsapp.net`, fromMe: sendersOwn, id: action.target };
    const { Type } = proto.Message.ProtocolMessage;
    switch (action.type) {
      case 'reaction':
        return this.accept(phone, {
          from,
          type: 'reaction',
          text: action.emoji,
          target: action.target,
          message: { reactionMessage: { key, text: action.emoji, senderTimestampMs: Date.now() } },
        });
      case 'edit':
        return this.accept(phone, {
          from,
          type: 'edit',
          text: action.text,
          target: action.target,
          message: { protocolMessage: { key, type: Type.MESSAGE_EDIT, editedMessage: { conversation: action.text }, timestampMs: Date.now() } },
        });
      case 'revoke':
        return this.accept(phone, { from, type: 'revoke', text: '', target: action.target, message: { protocolMessage: { key, type: Type.REVOKE } } });
    }
  }

  /**
   * A connection of the account logged in: what was sent to the account before this moment waited for
   * it, and goes from the offline queue.
   */
  loggedIn(connection: SimConnection): void {
    this.waitedUpTo.set(connection, this.inboxes.latest);
  }

  /**
   * Sends the live connection of `phone` whatever it has not had yet; call on login and on key uploads.
   * @returns how many of them came from the offline queue
   */
  flush(phone: string): Promise<number> {
    return this.inTurn(phone, 'inbound-delivery-failed', () => this.send(phone));
  }

  /** Runs `work` after whatever the account's queue holds, so deliveries never overtake each other. */
  private inTurn(phone: string, failure: string, work: () => Promise<number>): Promise<number> {
    const next = (this.queues.get(phone) ?? Promise.resolve(0)).then(work).catch((err: unknown) => {
      this.log({ event: failure, phone, err: String(err) });
      return 0;
    });
    this.queues.set(phone, next);
    return next;
  }

  /**
   * A receipt from another phone for a message the account sent: to its live connection, or kept for
   * its next login. One sent to a connection that dies before reading it is lost (WhatsApp would
   * deliver it again until the device acknowledges it; the sim does not track receipt acks).
   */
  async forwardReceipt(phone: string, receipt: BinaryNode): Promise<void> {
    const live = this.liveDevice(phone);
    if (live?.connection.isOpen) return live.connection.send(receipt);
    this.heldReceipts.set(phone, [...(this.heldReceipts.get(phone) ?? []), receipt]);
  }

  /**
   * A `receipt` for a message (Baileys sends one, `type=inactive` while not marked online, once it has
   * decrypted and stored it) or a plain message `ack` acknowledges it. An `ack` with an `error` is the
   * device refusing it (Baileys nacks a copy whose Signal message key it already used, as after a crash
   * between its key write and its receipt): it is not delivered again. A `retry` receipt, which comes
   * before such an `ack`, asks for a copy encrypted afresh.
   */
  onAcknowledgement(connection: SimConnection, node: BinaryNode): void {
    const phone = String(connection.payload?.username ?? '');
    const id = node.attrs.id;
    if (!phone || !id) return;
    if (node.tag === 'receipt' && node.attrs.type === 'retry') void this.resend(phone, id);
    if (node.tag === 'receipt' && node.attrs.type !== 'retry') {
      // One receipt may cover several messages: the first id in attrs, the rest in list/item.
      const ids = [id, ...getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'item').map((item) => item.attrs.id ?? '')];
      for (const each of ids) this.inboxes.acknowledge(phone, each);
      if (node.attrs.type === 'read' || node.attrs.type === 'read-self') {
        this.log({ event: 'read', phone, ids: this.inboxes.markRead(phone, ids) });
      }
    }
    if (node.tag === 'ack' && node.attrs.class === 'message') {
      if (node.attrs.error) this.inboxes.refuse(phone, id);
      else this.inboxes.acknowledge(phone, id);
    }
  }

  list(phone: string): InboxMessage[] {
    return this.inboxes.list(phone);
  }

  private async accept(phone: string, content: Parameters<Inboxes['add']>[1]): Promise<InboxMessage> {
    const entry = this.inboxes.add(phone, content);
    await this.flush(phone);
    return view(entry);
  }

  private async send(phone: string): Promise<number> {
    const live = this.liveDevice(phone);
    if (!live) return 0;
    let offline = live.device.keyBundle ? await this.sendMessages(phone, live) : 0;
    const receipts = this.heldReceipts.get(phone) ?? [];
    this.heldReceipts.delete(phone);
    for (const [index, receipt] of receipts.entries()) {
      if (!live.connection.isOpen) {
        this.heldReceipts.set(phone, [...receipts.slice(index), ...(this.heldReceipts.get(phone) ?? [])]);
        break;
      }
      await live.connection.send({ ...receipt, attrs: { ...receipt.attrs, offline: String(offline++) } });
    }
    return offline;
  }

  /** @returns how many of them came from the offline queue */
  private async sendMessages(phone: string, live: LiveDevice): Promise<number> {
    const sent = this.sentOn.get(live.connection) ?? new Set<string>();
    this.sentOn.set(live.connection, sent);
    const waitedUpTo = this.waitedUpTo.get(live.connection) ?? 0;
    let offline = 0;
    for (const entry of this.inboxes.unacknowledged(phone)) {
      if (sent.has(entry.id)) continue;
      if (!live.connection.isOpen) break;
      const stanza = entry.sealed?.device === live.device.device ? entry.sealed.stanza : await this.seal(phone, entry, live.device);
      const waited = entry.seq <= waitedUpTo;
      await live.connection.send(waited ? { ...stanza, attrs: { ...stanza.attrs, offline: String(offline++) } } : stanza);
      sent.add(entry.id);
      this.inboxes.markDelivered(entry);
    }
    return offline;
  }

  /**
   * The device could not decrypt message `id` and asked for it again (a retry receipt, then an error
   * `ack`): the sender's phone encrypts it afresh, in a new session, and sends it again under the same
   * id, as WhatsApp's senders do.
   */
  private resend(phone: string, id: string): Promise<number> {
    return this.inTurn(phone, 'inbound-retry-failed', async () => {
      const entry = this.inboxes.find(phone, id);
      const live = this.liveDevice(phone);
      if (!entry || entry.status === 'acked' || !live?.device.keyBundle || !live.connection.isOpen) return 0;
      this.log({ event: 'inbound-retry', phone, id });
      await live.connection.send(await this.seal(phone, entry, live.device, true));
      this.inboxes.markDelivered(entry);
      return 0;
    });
  }

  private async seal(phone: string, entry: InboxEntry, device: LinkedDevice, fresh = false): Promise<BinaryNode> {
    const deviceJid = `${phone}:${device.device}@s.whatsapp.net`;
    const { type, ciphertext } = await this.senders.seal(entry.from, deviceJid, device, entry.message, fresh);
    const media: Record<string, string> = entry.type === 'image' ? { mediatype: entry.type } : {};
    const stanzaType = entry.type === 'image' ? 'media' : entry.type === 'reaction' ? 'reaction' : 'text';
    const edit = EDIT_ATTR[entry.type];
    const stanza: BinaryNode = {
      tag: 'message',
      attrs: { from: `${entry.from}@s.whatsapp.net`, id: entry.id, type: stanzaType, t: String(entry.t), ...(edit ? { edit } : {}) },
      content: [{ tag: 'enc', attrs: { v: '2', type, ...media }, content: ciphertext }],
    };
    entry.sealed = { device: device.device, stanza };
    return stanza;
  }
}
