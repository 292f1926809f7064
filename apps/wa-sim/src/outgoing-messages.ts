import { getBinaryNodeChild, getBinaryNodeChildren, jidDecode, type BinaryNode, type proto } from 'baileys';
import { decodeContent, headlineOf, type DecodedContent } from './decoded-content';
import type { MediaServer } from './media-server';
import { decryptFor, type VirtualPhone, type VirtualPhones } from './virtual-phones';

/** A message the sim took from a client for one recipient, once per message id. */
export interface SentMessage {
  id: string;
  /** The recipient, `<phone>@s.whatsapp.net`, whichever way the client addressed it. */
  to: string;
  /** The sending device, `<phone>:<device>@s.whatsapp.net`. */
  from: string;
  /** The stanza's `type`: `text`, `media`, `reaction`, … */
  type: string;
  /** The `mediatype` of its `enc` (`image`, `ptt`, `audio`, …) when it carries media. */
  mediaType?: string;
  /** When the sim first took this id, ms since the epoch. */
  at: number;
  /** How many times this id arrived: more than 1 after a resend. */
  copies: number;
  /** The content as the recipient's phone decrypted it; undefined until then, or when it could not. */
  message?: proto.IMessage;
  /** The text or caption of `message`, when it has one. */
  text?: string;
  /** What the recipient's phone makes of `message`, media fetched and decrypted; set with `message`. */
  content?: DecodedContent;
  /** The stanza's `edit` attribute: `1` an edit, `7` a revoke by the sender, `8` by a group admin. */
  edit?: string;
}

/** The client that sent a message stanza, as the sim knows it from its login. */
export interface Sender {
  phone: string;
  device: number;
  lid: string;
}

export interface OutgoingMessagesOptions {
  /**
   * Pause before the delivered receipt, and again before read and before played. Baileys holds the
   * events of a send for 100 ms and merges a message's updates meanwhile, so shorter pauses show a
   * client only the last status. @default 150
   */
  receiptDelayMs?: number;
}

/** Receipts a recipient's phone sends back for media it plays rather than reads to the end. */
const PLAYED_MEDIA = new Set(['ptt', 'audio']);

/**
 * Messages clients send to other numbers: the server `ack`s each stanza, and each recipient's phone
 * confirms it with `delivered`, `read` and, for voice notes, `played` receipts, unless the recipient
 * was told to fail. An offline recipient confirms what it was sent once it is back online.
 */
export class OutgoingMessages {
  /** Recipient jid → message id → message. */
  private readonly byRecipient = new Map<string, Map<string, SentMessage>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly delayMs: number;
  /** Per recipient phone, what it was sent while offline, oldest first: no receipt yet. */
  private readonly unconfirmed = new Map<string, { senderPhone: string; node: BinaryNode; to: string }[]>();

  constructor(
    private readonly phones: VirtualPhones,
    /** Where media messages' files are: the recipient fetches and decrypts each one, as a phone would. */
    private readonly media: MediaServer,
    /** Sends a receipt to whichever connection of `phone` is live by then, or keeps it for its next login. */
    private readonly deliver: (phone: string, node: BinaryNode) => Promise<void>,
    options: OutgoingMessagesOptions = {},
    private readonly log: (event: Record<string, unknown>) => void = () => {},
  ) {
    this.delayMs = options.receiptDelayMs ?? 150;
  }

  /** Takes a `message` stanza from `sender`. @returns the `ack` to answer it with */
  accept(sender: Sender, node: BinaryNode): BinaryNode {
    const { id, to } = node.attrs;
    const decoded = to ? jidDecode(to) : undefined;
    const target = decoded && !decoded.device ? this.phones.resolve(decoded.user, decoded.server) : undefined;
    // Peer messages to the sender's own devices and group sends have no phone to answer them here.
    if (!id || !to || !target || target.phone === sender.phone) return ack(node);
    if (target.failure?.mode === 'error') {
      this.log({ event: 'message-refused', id, to, code: target.failure.code });
      return ack(node, target.failure.code);
    }
    this.record(sender, target, node);
    if (target.failure?.mode !== 'offline') this.scheduleReceipts(sender.phone, node, to);
    else this.unconfirmed.set(target.phone, [...(this.unconfirmed.get(target.phone) ?? []), { senderPhone: sender.phone, node, to }]);
    return ack(node);
  }

  /** The recipient's phone is back online: it confirms what it was sent meanwhile, as it does any message. */
  backOnline(phone: string): void {
    const waiting = this.unconfirmed.get(phone) ?? [];
    this.unconfirmed.delete(phone);
    for (const { senderPhone, node, to } of waiting) this.scheduleReceipts(senderPhone, node, to);
  }

  messagesTo(phone: string): SentMessage[] {
    return [...(this.byRecipient.get(recipientJid(phone))?.values() ?? [])];
  }

  /** Distinct message ids per recipient jid. */
  countByRecipient(): Record<string, number> {
    return Object.fromEntries([...this.byRecipient].map(([jid, messages]) => [jid, messages.size]));
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private record(sender: Sender, target: VirtualPhone, node: BinaryNode): void {
    const to = recipientJid(target.phone);
    const messages = this.byRecipient.get(to) ?? new Map<string, SentMessage>();
    this.byRecipient.set(to, messages);
    const enc = encFor(node, target);
    const known = messages.get(node.attrs.id!);
    const sent: SentMessage = known ?? {
      id: node.attrs.id!,
      to,
      from: `${sender.phone}:${sender.device}@s.whatsapp.net`,
      type: node.attrs.type ?? 'text',
      mediaType: enc?.attrs.mediatype,
      ...(node.attrs.edit ? { edit: node.attrs.edit } : {}),
      at: Date.now(),
      copies: 0,
    };
    sent.copies++;
    messages.set(sent.id, sent);
    // Every copy is decrypted, even a resend, or the recipient's ratchet would fall behind the sender's.
    if (enc) {
      void decryptFor(target, `${sender.lid}:${sender.device}@lid`, enc)
        .then(async (message) => {
          if (!message || sent.message) return;
          const content = await decodeContent(message, this.media);
          if (sent.message) return;
          // Set together, so whoever sees `message` sees everything the phone read from it.
          Object.assign(sent, { message, content, text: headlineOf(content) });
        })
        .catch((err: unknown) => this.log({ event: 'decode-failed', id: sent.id, err: String(err) }));
    }
  }

  /**
   * Each receipt waits for the one before it to be sent, so they stay apart even when the event loop
   * stalls (Signal and TLS work shares it) and fires overdue timers together.
   */
  private scheduleReceipts(senderPhone: string, node: BinaryNode, to: string): void {
    const id = node.attrs.id!;
    const types: Array<string | undefined> = [undefined, 'read'];
    if (PLAYED_MEDIA.has(mediaTypeOf(node) ?? '')) types.push('played');
    const next = (index: number) => {
      if (index >= types.length) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.deliver(senderPhone, receipt(id, to, types[index]))
          .then(() => next(index + 1))
          .catch((err: unknown) => this.log({ event: 'receipt-failed', id, type: types[index] ?? 'delivery', err: String(err) }));
      }, this.delayMs);
      this.timers.add(timer);
    };
    next(0);
  }
}

export function recipientJid(phone: string): string {
  return `${phone}@s.whatsapp.net`;
}

function ack(node: BinaryNode, error?: number): BinaryNode {
  const attrs: Record<string, string> = { class: 'message', id: node.attrs.id ?? '', from: node.attrs.to ?? '', t: now() };
  if (error !== undefined) attrs.error = String(error);
  return { tag: 'ack', attrs };
}

/** Without a `type` the receipt means delivered (Baileys status 3). */
function receipt(id: string, from: string, type: string | undefined): BinaryNode {
  return { tag: 'receipt', attrs: { id, from, t: now(), ...(type ? { type } : {}) } };
}

/** The `enc` addressed to the recipient's phone, in `participants` or, for a single device, directly. */
function encFor(node: BinaryNode, target: VirtualPhone): BinaryNode | undefined {
  for (const to of getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to')) {
    const decoded = jidDecode(to.attrs.jid);
    if (!decoded || decoded.device) continue;
    if (decoded.user === target.phone || decoded.user === target.lid) return getBinaryNodeChild(to, 'enc');
  }
  return getBinaryNodeChild(node, 'enc');
}

function mediaTypeOf(node: BinaryNode): string | undefined {
  const participants = getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to');
  const enc = participants.length ? getBinaryNodeChild(participants[0], 'enc') : getBinaryNodeChild(node, 'enc');
  return enc?.attrs.mediatype;
}

function now(): string {
  return String(Math.floor(Date.now() / 1000));
}
