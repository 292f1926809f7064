import type { BinaryNode } from 'baileys';
import type { LinkedDevice } from './accounts';
import { Inboxes, view, type InboxEntry, type InboxMessage } from './inbox';
import { hostImage, type InboundImage } from './inbound-media';
import type { MediaServer } from './media-server';
import { SenderPhones } from './sender-phones';
import type { SimConnection } from './sim-connection';

/** The logged-in connection of an account and the linked device it speaks for. */
export interface LiveDevice {
  connection: SimConnection;
  device: LinkedDevice;
}

/**
 * Messages from other phones to the sim's accounts, with WhatsApp's delivery guarantees: a message for
 * an account that is offline (or whose device has not uploaded its keys yet) waits; each new connection
 * of the account gets every message its device has not acknowledged with a receipt, in order.
 */
export class InboundMessages {
  private readonly inboxes = new Inboxes();
  private readonly senders = new SenderPhones();
  /** Per account, so deliveries never overtake each other while one is being encrypted. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Message ids already sent on each connection: one connection gets a message once. */
  private readonly sentOn = new WeakMap<SimConnection, Set<string>>();

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

  /** Sends the live connection of `phone` whatever it has not had yet; call on login and on key uploads. */
  flush(phone: string): Promise<void> {
    const next = (this.queues.get(phone) ?? Promise.resolve())
      .then(() => this.send(phone))
      .catch((err: unknown) => this.log({ event: 'inbound-delivery-failed', phone, err: String(err) }));
    this.queues.set(phone, next);
    return next;
  }

  /**
   * A `receipt` for a message (Baileys sends one, `type=inactive` while not marked online, once it has
   * decrypted and stored it) or a plain message `ack` acknowledges it. An `ack` with an `error` is the
   * device refusing it, which leaves it unacknowledged.
   */
  onAcknowledgement(connection: SimConnection, node: BinaryNode): void {
    const phone = String(connection.payload?.username ?? '');
    const id = node.attrs.id;
    if (!phone || !id) return;
    if (node.tag === 'receipt' && node.attrs.type !== 'retry') this.inboxes.acknowledge(phone, id);
    if (node.tag === 'ack' && node.attrs.class === 'message' && !node.attrs.error) this.inboxes.acknowledge(phone, id);
  }

  list(phone: string): InboxMessage[] {
    return this.inboxes.list(phone);
  }

  private async accept(phone: string, content: Parameters<Inboxes['add']>[1]): Promise<InboxMessage> {
    const entry = this.inboxes.add(phone, content);
    await this.flush(phone);
    return view(entry);
  }

  private async send(phone: string): Promise<void> {
    const live = this.liveDevice(phone);
    if (!live?.device.keyBundle) return;
    const sent = this.sentOn.get(live.connection) ?? new Set<string>();
    this.sentOn.set(live.connection, sent);
    for (const entry of this.inboxes.unacknowledged(phone)) {
      if (sent.has(entry.id)) continue;
      if (!live.connection.isOpen) return;
      const stanza = entry.sealed?.device === live.device.device ? entry.sealed.stanza : await this.seal(phone, entry, live.device);
      await live.connection.send(stanza);
      sent.add(entry.id);
      this.inboxes.markDelivered(entry);
    }
  }

  private async seal(phone: string, entry: InboxEntry, device: LinkedDevice): Promise<BinaryNode> {
    const deviceJid = `${phone}:${device.device}@s.whatsapp.net`;
    const { type, ciphertext } = await this.senders.seal(entry.from, deviceJid, device, entry.message);
    const media: Record<string, string> = entry.type === 'text' ? {} : { mediatype: entry.type };
    const stanza: BinaryNode = {
      tag: 'message',
      attrs: { from: `${entry.from}@s.whatsapp.net`, id: entry.id, type: entry.type === 'text' ? 'text' : 'media', t: String(entry.t) },
      content: [{ tag: 'enc', attrs: { v: '2', type, ...media }, content: ciphertext }],
    };
    entry.sealed = { device: device.device, stanza };
    return stanza;
  }
}
