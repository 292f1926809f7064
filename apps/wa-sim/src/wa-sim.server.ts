import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BinaryNode } from 'baileys';
import { WebSocketServer } from 'ws';
import { AccountRegistry } from './accounts';
import { ChatEndpoint } from './chat-endpoint';
import { CompanionLinking, type PairedDevice } from './companion-linking';
import type { InboundImage } from './inbound-media';
import { InboundMessages, type MessageAction } from './inbound-messages';
import type { InboxMessage } from './inbox';
import { Messaging } from './messaging';
import type { SentMessage } from './outgoing-messages';
import { PendingReplies } from './pending-replies';
import { createServerIdentity } from './server-identity';
import { deviceRemoved, streamError } from './stanzas';
import type { Chatstate, RecipientFailure } from './virtual-phones';
import { WaSimController } from './wa-sim.controller';
import { unknownAccount, WaSimError } from './wa-sim.errors';
import type { AccountSummary, WaSimOptions, WaSimStats } from './wa-sim.types';

export type { PairedDevice } from './companion-linking';
export type { AccountSummary, WaSimOptions, WaSimStats } from './wa-sim.types';

const WS_PATH = '/ws/chat';

/** WhatsApp Web's server side on loopback: enough of it that an unmodified Baileys pairs and logs in. */
export class WaSimServer {
  readonly accounts = new AccountRegistry();
  private readonly messaging: Messaging;
  private readonly linking: CompanionLinking;
  private readonly inbound: InboundMessages;
  private readonly chat: ChatEndpoint;
  private http?: Server;
  private wss?: WebSocketServer;

  constructor(private readonly options: WaSimOptions = {}) {
    const log = (event: Record<string, unknown>) => this.log(event);
    const replies = new PendingReplies(options.replyTimeoutMs ?? 10_000);
    const deliver = (phone: string, node: BinaryNode) => this.inbound.forwardReceipt(phone, node);
    this.messaging = new Messaging(this.accounts, deliver, options, log);
    this.inbound = new InboundMessages(this.messaging.media, (phone) => this.chat.liveDevice(phone), log);
    this.linking = new CompanionLinking(this.accounts, replies, options.refsPerRegistration ?? 6, options.replyTimeoutMs ?? 10_000);
    const parts = { accounts: this.accounts, identity: createServerIdentity(), messaging: this.messaging, linking: this.linking, inbound: this.inbound, replies };
    this.chat = new ChatEndpoint(parts, options.idleTimeoutMs, log);
  }

  /**
   * Serves the WebSocket on `/ws/chat` and the control API on every other path of the same port, and
   * the media host on a port of its own. @returns the port actually bound
   */
  async start(): Promise<number> {
    await this.messaging.start(this.options.host ?? '127.0.0.1');
    const controller = new WaSimController(this, (event) => this.log(event));
    const http = createServer((req, res) => controller.handle(req, res));
    const wss = new WebSocketServer({ server: http, path: WS_PATH });
    wss.on('connection', (socket) => this.chat.accept(socket));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.http = http;
    this.wss = wss;
    return (http.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.chat.terminateAll();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    const http = this.http;
    if (http) {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    }
    await this.messaging.stop();
  }

  stats(): WaSimStats {
    const { registrations, logins, conflicts, idleDrops } = this.chat;
    return {
      registrations,
      logins,
      live: this.chat.openCount(),
      conflicts,
      idleDrops,
      messagesByRecipient: this.messaging.countByRecipient(),
    };
  }

  listAccounts(): AccountSummary[] {
    return this.accounts.list().map((account) => {
      const presence = this.messaging.presenceOf(account.phone);
      return {
        phone: account.phone,
        devices: [...account.devices.keys()],
        live: this.chat.live.count(account.phone),
        conflicts: account.conflicts,
        ...(presence ? { presence } : {}),
      };
    });
  }

  /** Messages the sim took for `phone`, one per message id, in the order they first arrived. */
  messagesTo(phone: string): SentMessage[] {
    return this.messaging.messagesTo(phone);
  }

  /** Typing indicators clients sent to `phone`, oldest first. */
  chatstatesTo(phone: string): Chatstate[] {
    return this.messaging.chatstatesTo(phone);
  }

  /** Until cleared, messages to `phone` are refused (`error`) or never confirmed (`offline`). */
  failRecipient(phone: string, failure: RecipientFailure): void {
    this.messaging.failRecipient(phone, failure);
  }

  clearRecipientFailure(phone: string): void {
    this.messaging.clearRecipientFailure(phone);
  }

  /** The media host's self-signed certificate: give it to a client as `fetchAgent: new https.Agent({ ca })`. */
  mediaCertificate(): string {
    return this.messaging.media.certificate();
  }

  /** What a client uploaded to the media host, by the direct path it was given. */
  mediaAt(directPath: string): Buffer | undefined {
    return this.messaging.media.find(directPath)?.bytes;
  }

  /** Whether `ref` is in a QR that a still-connected registering device may be showing. */
  offersRef(ref: string): boolean {
    return this.linking.offersRef(ref);
  }

  /**
   * A phone with number `phone` scans `qr`: the sim links the companion to that account, tells it so
   * with `pair-success`, waits for its signature and then asks it to reconnect (515), as WhatsApp does.
   */
  async scanQr(qr: string, phone: string): Promise<PairedDevice> {
    return this.linking.scanQr(qr, phone);
  }

  /**
   * The phone of `phone` enters the pairing code a companion showed after `requestPairingCode`: the sim
   * runs the code exchange with that companion and, when the code matches, links it as `scanQr` does.
   * @throws WaSimError 403 `wrong_pairing_code`, 404 `no_code_request`, 400 for a malformed code
   */
  async enterPairingCode(phone: string, code: string): Promise<PairedDevice> {
    return this.linking.enterPairingCode(phone, code);
  }

  /**
   * Phone `from` sends account `phone` a text. It is sent at once when the account is online, otherwise
   * at its next login; until the device acknowledges it, every new connection gets it again.
   * @returns the message as the account's inbox holds it, `id` being the WhatsApp message id
   */
  async deliverMessage(phone: string, message: { from: string; text: string }): Promise<InboxMessage> {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    return this.inbound.acceptText(phone, message.from, message.text);
  }

  /** As {@link deliverMessage} for an image, hosted over HTTPS; a client trusts {@link mediaCertificate} to fetch it. */
  async deliverImage(phone: string, message: { from: string; image: InboundImage }): Promise<InboxMessage> {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    return this.inbound.acceptImage(phone, message.from, message.image);
  }

  /**
   * Phone `from` reacts to, edits or revokes an earlier message in its chat with account `phone`,
   * delivered as {@link deliverMessage} is. Edits and revokes apply only to messages `from` sent.
   */
  async deliverAction(phone: string, message: { from: string; action: MessageAction }): Promise<InboxMessage> {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    return this.inbound.acceptAction(phone, message.from, message.action);
  }

  /** Every message sent to `phone`, oldest first, with its delivery status. */
  inbox(phone: string): InboxMessage[] {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    return this.inbound.list(phone);
  }

  /**
   * Until cleared (`code` undefined), every login of `phone` is refused with a `failure` of reason `code`,
   * which Baileys reports as that disconnect reason: how a test makes WhatsApp keep rejecting a session.
   */
  refuseLogins(phone: string, code: number | undefined): void {
    if (code === undefined) this.chat.refusals.delete(phone);
    else this.chat.refusals.set(phone, code);
  }

  /**
   * While `on`, the account's queries (an iq get or set: the device lists and pre-keys a send asks for
   * first, say) go unanswered, its connection staying up: how a test holds a send in flight.
   */
  ignoreQueries(phone: string, on: boolean): void {
    if (!on) this.chat.unanswered.delete(phone);
    else if (!this.chat.unanswered.has(phone)) this.chat.unanswered.set(phone, []);
  }

  /** The xmlns of each of the account's queries left unanswered since ignoreQueries turned it on, oldest first. */
  unansweredQueries(phone: string): string[] {
    return [...(this.chat.unanswered.get(phone) ?? [])];
  }

  /**
   * Ends the account's live connection with a stream error carrying `code` (503 unavailable, 500 bad
   * session, 403 forbidden, …), as WhatsApp does when it drops or refuses a device. The device stays
   * linked. @returns whether a connection was live
   */
  async dropConnection(phone: string, code: number): Promise<boolean> {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    const live = this.chat.live.find(phone);
    if (live) await live.part(streamError(code));
    return Boolean(live);
  }

  /**
   * The network between the account's live connection and the sim goes away: nothing the client sends
   * is read or answered any more, and the connection stays up until the client gives up on it.
   * @returns whether a connection was live
   */
  freezeConnection(phone: string): boolean {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    const live = this.chat.live.find(phone);
    live?.freeze();
    return Boolean(live);
  }

  /**
   * The phone unlinks `device` (every companion when omitted): a live connection of it is told with a
   * 401 stream error and closed, and later logins of it are refused with 401.
   * @returns the device numbers unlinked
   */
  async logoutDevice(phone: string, device?: number): Promise<number[]> {
    const account = this.accounts.find(phone);
    if (!account) throw unknownAccount(phone);
    const removed = device === undefined ? [...account.devices.keys()] : [device];
    if (device !== undefined && !account.devices.has(device)) {
      throw new WaSimError('unknown_device', 404, `account ${phone} has no device ${device}`);
    }
    for (const number of removed) this.accounts.unlinkDevice(account, number);
    const live = this.chat.live.find(phone);
    if (live && removed.includes(live.payload?.device ?? 0)) await live.part(deviceRemoved());
    this.log({ event: 'logout', phone, devices: removed });
    return removed;
  }

  private log(event: Record<string, unknown>): void {
    this.options.log?.(event);
  }
}
