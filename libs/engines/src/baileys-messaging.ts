import type { Agent } from 'node:https';
import { jidNormalizedUser, proto, type BinaryNode, type WAMessage, type WAMessageKey, type WASocket } from 'baileys';
import { assertChatJid, assertMessageId, toBaileysContent, toBaileysKey } from './baileys-content';
import { toInboundMessage } from './baileys-inbound';
import type { DownloadedMedia, Engine } from './engine';
import { EngineNoPushNameError, EngineNotConnectedError, InvalidMessageError } from './engine.errors';
import type { EngineLogger } from './baileys.engine';
import type { InboundStaging } from './inbound-staging';
import type { MediaDescriptor, MessageStatus } from './inbound-message';
import { downloadMedia } from './media-download';
import { newMessageId } from './message-id';
import type { MessageKey, OutgoingKind, OutgoingMessage, PresenceState, SentMessage } from './outgoing-message';

const { Status } = proto.WebMessageInfo;

/** Baileys' status numbers (proto WebMessageInfo.Status) as wafleet names them; PENDING (1) is no news. */
const STATUSES: Partial<Record<number, MessageStatus>> = {
  [Status.ERROR]: 'failed',
  [Status.SERVER_ACK]: 'sent',
  [Status.DELIVERY_ACK]: 'delivered',
  [Status.READ]: 'read',
  [Status.PLAYED]: 'played',
};

const MEDIA_KINDS = new Set<OutgoingKind>(['image', 'video', 'audio', 'document', 'sticker']);
/** How many of its latest sends an engine recognises in Baileys' echo, which comes within moments of each. */
const SENT_HERE_MAX = 1000;

/**
 * The message half of BaileysEngine: what it sends through the current socket and what it reports of
 * that socket's message events. The engine owns the socket's life; this class only borrows it.
 */
export class BaileysMessaging {
  /** Ids of the messages this engine handed to Baileys lately, oldest first. */
  private readonly sentHere = new Set<string>();

  constructor(
    private readonly engine: Engine,
    private readonly sessionId: string,
    private readonly logger: EngineLogger,
    /** Trusts the media hosts' certificate for uploads (Baileys' `fetchAgent`) and downloads alike. */
    readonly mediaAgent: Agent | undefined,
    private readonly staging: InboundStaging,
  ) {}

  /**
   * Reports `socket`'s messages and receipts while `isCurrent()` holds. A server `ack` without an error
   * is the `sent` status: Baileys reports only the failing ones.
   *
   * Received messages come in two kinds of upsert: `notify` for what arrives while connected, `append`
   * for what WhatsApp kept while this device was offline (a restart, a failover, a dropped socket) and
   * delivers at the next login. Both are reported. Baileys also echoes each message this engine sends
   * as an `append` of its own, which is a status, not a received message.
   */
  listen(socket: WASocket, isCurrent: () => boolean): void {
    socket.ev.on('messages.upsert', ({ messages, type }) => {
      if (!isCurrent()) return;
      for (const message of messages) {
        // Not forgotten once seen: Baileys may upsert one of its sends more than once (an edit, a revoke).
        const echo = type === 'append' && message.key.fromMe === true && this.sentHere.has(message.key.id ?? '');
        // Baileys buffers a send's events for a moment and folds a quick update into the upsert of the
        // message itself, so an own message can arrive here already failed or delivered.
        if (message.key.fromMe && type === 'append') this.reportStatus(message.key, message.status, message.messageStubParameters);
        if (!echo) this.inbound(socket, message);
      }
    });
    // Every message stanza, as it arrives: its plaintext is staged once Baileys decrypts it (InboundStaging).
    socket.ws.on('CB:message', (node: BinaryNode) => this.staging.saw(node));
    socket.ev.on('messages.update', (updates) => {
      if (!isCurrent()) return;
      for (const { key, update } of updates) {
        if (key.fromMe) this.reportStatus(key, update.status, update.messageStubParameters);
      }
    });
    socket.ws.on('CB:ack,class:message', (node: BinaryNode) => {
      if (!isCurrent() || node.attrs.error || !node.attrs.id || !node.attrs.from) return;
      this.engine.emit('status', { id: node.attrs.id, chat: jidNormalizedUser(node.attrs.from), status: 'sent' });
    });
  }

  async send(socket: WASocket, message: OutgoingMessage): Promise<SentMessage> {
    const content = toBaileysContent(message, this.meJid(socket));
    const sent = await this.relay(socket, message.to, content, message.id);
    return this.sentMessage(socket, message.id, message.to, message.kind, sent);
  }

  async edit(socket: WASocket, target: MessageKey, text: string, id = newMessageId()): Promise<SentMessage> {
    assertMessageId(id);
    const key = this.ownKey(target);
    if (typeof text !== 'string' || text.length === 0) throw new InvalidMessageError('text', 'must be a non-empty string');
    const sent = await this.relay(socket, target.chat, { text, edit: key }, id);
    return this.sentMessage(socket, id, target.chat, 'edit', sent);
  }

  async deleteForEveryone(socket: WASocket, target: MessageKey, id = newMessageId()): Promise<SentMessage> {
    assertMessageId(id);
    const key = toBaileysKey(target, 'target');
    const sent = await this.relay(socket, target.chat, { delete: key }, id);
    return this.sentMessage(socket, id, target.chat, 'delete', sent);
  }

  async markRead(socket: WASocket, keys: MessageKey[]): Promise<void> {
    if (!Array.isArray(keys) || keys.length === 0) throw new InvalidMessageError('keys', 'must name at least one message');
    const baileysKeys = keys.map((key, index) => toBaileysKey(key, `keys[${index}]`));
    await this.guard(() => socket.readMessages(baileysKeys));
  }

  async sendPresence(socket: WASocket, chat: string, state: PresenceState): Promise<void> {
    if (state === 'available' || state === 'unavailable') {
      // Baileys would log a warning and send nothing; a caller should learn that instead.
      if (!socket.authState.creds.me?.name) throw new EngineNoPushNameError(this.sessionId);
      await this.guard(() => socket.sendPresenceUpdate(state));
      return;
    }
    if (!['composing', 'recording', 'paused'].includes(state)) {
      throw new InvalidMessageError('state', 'must be composing, recording, paused, available or unavailable');
    }
    assertChatJid(chat, 'chat');
    await this.guard(() => socket.sendPresenceUpdate(state, chat));
  }

  async downloadMedia(message: { media?: MediaDescriptor }): Promise<DownloadedMedia> {
    const media = message?.media;
    if (!media?.download) throw new InvalidMessageError('media', 'is missing: the message carries no media');
    return { data: await downloadMedia(media, this.mediaAgent), mimetype: media.mimetype };
  }

  private async relay(socket: WASocket, to: string, content: Parameters<WASocket['sendMessage']>[1], id: string): Promise<WAMessage | undefined> {
    // Before the send: Baileys echoes it on the next tick after handing it over.
    this.sentHere.add(id);
    if (this.sentHere.size > SENT_HERE_MAX) this.sentHere.delete(this.sentHere.values().next().value!);
    return this.guard(() => socket.sendMessage(to, content, { messageId: id }));
  }

  /** A socket that closes under a call makes it a not-connected error, which a caller may retry. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const status = (error as { output?: { statusCode?: number } }).output?.statusCode;
      if (status === 428 || status === 408 || (error as Error).message === 'Connection Closed') {
        throw new EngineNotConnectedError(this.sessionId, 'reconnecting');
      }
      throw error;
    }
  }

  private ownKey(target: MessageKey): WAMessageKey {
    const key = toBaileysKey(target, 'target');
    if (!key.fromMe) throw new InvalidMessageError('target.fromMe', 'must be true: only the author edits a message');
    return key;
  }

  /** For media, the uploaded copy's descriptor, read from the message as Baileys built it. */
  private sentMessage(socket: WASocket, id: string, to: string, kind: SentMessage['kind'], sent: WAMessage | undefined): SentMessage {
    const result: SentMessage = { id, chat: jidNormalizedUser(to), kind, timestamp: new Date().toISOString() };
    if (sent && MEDIA_KINDS.has(kind as OutgoingKind)) {
      const normalized = toInboundMessage(sent, this.meJid(socket));
      if (normalized && 'media' in normalized) result.media = normalized.media;
    }
    return result;
  }

  /**
   * Reports, once `socket` is open, what an earlier connection received (and acknowledged to WhatsApp) but
   * never stored: a crash, a dropped socket or a failed write came in between. One that also comes again
   * from WhatsApp is stored once all the same. Stops once `isCurrent()` no longer holds.
   */
  async recover(socket: WASocket, isCurrent: () => boolean): Promise<void> {
    const me = socket.authState.creds.me;
    if (!me) return;
    const unstored = await this.staging.unstored({ id: me.id, lid: me.lid });
    if (unstored.length > 0) this.logger.info({ count: unstored.length }, 'reporting received messages that were not stored before');
    for (const message of unstored) {
      if (!isCurrent()) return;
      this.inbound(socket, message);
    }
  }

  /**
   * Reports a received message; one decrypted that wafleet keeps nothing of is no longer staged. A copy
   * that failed to decrypt (WhatsApp delivering again one whose keys were used) leaves the staged one be.
   */
  private inbound(socket: WASocket, raw: WAMessage): void {
    const id = raw.key.id ?? '';
    if (this.reportInbound(socket, raw)) this.staging.reportedNow(id);
    else if (raw.message && this.staging.has(id)) void this.staging.drop(id);
  }

  /** @returns whether a message was reported: the store then deletes its staged stanza with the message. */
  private reportInbound(socket: WASocket, raw: WAMessage): boolean {
    try {
      const message = toInboundMessage(raw, this.meJid(socket));
      if (!message) return false;
      this.engine.emit('message', message);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, id: raw.key.id }, 'an inbound message could not be read');
      return false;
    }
  }

  private reportStatus(key: WAMessageKey, status: number | null | undefined, stub: string[] | null | undefined): void {
    const name = status === null || status === undefined ? undefined : STATUSES[status];
    if (!name || !key.id || !key.remoteJid) return;
    const error = name === 'failed' ? stub?.[0] : undefined;
    this.engine.emit('status', { id: key.id, chat: jidNormalizedUser(key.remoteJid), status: name, ...(error ? { error } : {}) });
  }

  private meJid(socket: WASocket): string {
    return jidNormalizedUser(socket.authState.creds.me?.id);
  }
}
