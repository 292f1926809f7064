import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BinaryNode, proto } from 'baileys';
import { WebSocketServer } from 'ws';
import { AccountRegistry, type Account } from './accounts';
import { CompanionLinking, type PairedDevice } from './companion-linking';
import type { InboundImage } from './inbound-media';
import { InboundMessages, type LiveDevice, type MessageAction } from './inbound-messages';
import type { InboxMessage } from './inbox';
import { answerIq } from './iq-answers';
import { LiveConnections } from './live-connections';
import { Messaging } from './messaging';
import type { SentMessage } from './outgoing-messages';
import { PendingReplies } from './pending-replies';
import { createServerIdentity, type ServerIdentity } from './server-identity';
import { SimConnection, type ConnectionEvents } from './sim-connection';
import { connectionReplaced, deviceRemoved, loginFailure, loginSuccess, offlineDelivered, streamError } from './stanzas';
import type { Chatstate, RecipientFailure } from './virtual-phones';
import { WaSimController } from './wa-sim.controller';
import { unknownAccount, WaSimError } from './wa-sim.errors';
import type { AccountSummary, WaSimOptions, WaSimStats } from './wa-sim.types';

export type { PairedDevice } from './companion-linking';

export type { AccountSummary, WaSimOptions, WaSimStats } from './wa-sim.types';

const WS_PATH = '/ws/chat';

/** WhatsApp Web's server side on loopback: enough of it that an unmodified Baileys pairs and logs in. */
export class WaSimServer implements ConnectionEvents {
  readonly accounts = new AccountRegistry();
  private readonly identity: ServerIdentity = createServerIdentity();
  private readonly connections = new Set<SimConnection>();
  private readonly live = new LiveConnections();
  private readonly replies: PendingReplies;
  /** Phones whose logins are refused, with the failure reason to give. */
  private readonly refusals = new Map<string, number>();
  private readonly messaging: Messaging;
  private readonly linking: CompanionLinking;
  private readonly inbound: InboundMessages;
  private http?: Server;
  private wss?: WebSocketServer;
  private nextConnectionId = 1;
  private registrations = 0;
  private logins = 0;
  private conflicts = 0;
  private idleDrops = 0;

  constructor(private readonly options: WaSimOptions = {}) {
    this.replies = new PendingReplies(options.replyTimeoutMs ?? 10_000);
    const deliver = (phone: string, node: BinaryNode) => this.inbound.forwardReceipt(phone, node);
    this.messaging = new Messaging(this.accounts, deliver, options, (event) => this.log(event));
    this.inbound = new InboundMessages(this.messaging.media, (phone) => this.liveDevice(phone), (event) => this.log(event));
    this.linking = new CompanionLinking(this.accounts, this.replies, options.refsPerRegistration ?? 6, options.replyTimeoutMs ?? 10_000);
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
    wss.on('connection', (socket) => {
      this.connections.add(new SimConnection(this.nextConnectionId++, socket, this.identity, this, this.options.idleTimeoutMs));
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.http = http;
    this.wss = wss;
    return (http.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.terminate();
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
    const live = [...this.connections].filter((connection) => connection.isOpen).length;
    return {
      registrations: this.registrations,
      logins: this.logins,
      live,
      conflicts: this.conflicts,
      idleDrops: this.idleDrops,
      messagesByRecipient: this.messaging.countByRecipient(),
    };
  }

  listAccounts(): AccountSummary[] {
    return this.accounts.list().map((account) => {
      const presence = this.messaging.presenceOf(account.phone);
      return {
        phone: account.phone,
        devices: [...account.devices.keys()],
        live: this.live.count(account.phone),
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
   * Ends the account's live connection with a stream error carrying `code` (503 unavailable, 500 bad
   * session, 403 forbidden, …), as WhatsApp does when it drops or refuses a device. The device stays
   * linked. @returns whether a connection was live
   */
  /**
   * Until cleared (`code` undefined), every login of `phone` is refused with a `failure` of reason `code`,
   * which Baileys reports as that disconnect reason: how a test makes WhatsApp keep rejecting a session.
   */
  refuseLogins(phone: string, code: number | undefined): void {
    if (code === undefined) this.refusals.delete(phone);
    else this.refusals.set(phone, code);
  }

  async dropConnection(phone: string, code: number): Promise<boolean> {
    if (!this.accounts.find(phone)) throw unknownAccount(phone);
    const live = this.live.find(phone);
    if (live) await live.part(streamError(code));
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
    const live = this.live.find(phone);
    if (live && removed.includes(live.payload?.device ?? 0)) await live.part(deviceRemoved());
    this.log({ event: 'logout', phone, devices: removed });
    return removed;
  }

  onHandshake(connection: SimConnection, payload: proto.ClientPayload): void {
    const reply = payload.devicePairingData ? this.register(connection) : this.login(connection, payload);
    reply.catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
  }

  onStanza(connection: SimConnection, node: BinaryNode): void {
    if (node.tag === 'message') {
      const ack = this.messaging.acceptMessage(connection, node);
      if (!ack) return;
      connection.send(ack).catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
      return;
    }
    if (this.messaging.acceptPresence(connection, node)) return;
    if (node.tag !== 'iq') {
      this.inbound.onAcknowledgement(connection, node);
      return;
    }
    if (node.attrs.type === 'result' || node.attrs.type === 'error') {
      this.replies.answer(connection, node);
      return;
    }
    this.answer(connection, node).catch((err: unknown) => this.log({ event: 'iq-failed', connection: connection.id, err: String(err) }));
  }

  onClosed(connection: SimConnection): void {
    this.connections.delete(connection);
    this.live.release(connection);
    this.linking.forget(connection);
    this.replies.abandon(connection);
  }

  onIdle(connection: SimConnection): void {
    this.idleDrops++;
    this.log({ event: 'idle', connection: connection.id, phone: connection.payload?.username ? String(connection.payload.username) : undefined });
  }

  onProtocolError(connection: SimConnection, err: unknown): void {
    this.log({ event: 'protocol-error', connection: connection.id, err: String(err) });
  }

  private async register(connection: SimConnection): Promise<void> {
    this.registrations++;
    await connection.send(this.linking.offerRefs(connection));
  }

  private async login(connection: SimConnection, payload: proto.ClientPayload): Promise<void> {
    const phone = String(payload.username ?? '');
    const account = this.accounts.find(phone);
    const refusal = !account || !this.accounts.findDevice(phone, payload.device ?? 0) ? 401 : this.refusals.get(phone);
    if (!account || refusal !== undefined) {
      await connection.send(loginFailure(refusal ?? 401));
      connection.close();
      return;
    }
    this.logins++;
    const replaced = this.live.claim(phone, connection);
    if (replaced) await this.replace(account, replaced, connection);
    this.inbound.loggedIn(connection);
    await connection.send(loginSuccess(`${account.lid}@lid`));
    const waited = await this.inbound.flush(phone);
    // Baileys holds its events back until told that offline delivery is done (or for 30 s).
    await connection.send(offlineDelivered(waited));
  }

  private async answer(connection: SimConnection, iq: BinaryNode): Promise<void> {
    const answer = (await this.messaging.answerIq(iq)) ?? this.linking.answerIq(connection, iq) ?? answerIq(iq, this.deviceOf(connection));
    await connection.send(answer);
    // A device's first login uploads its keys only after `success`: what waited for them can go now.
    if (iq.attrs.xmlns === 'encrypt' && connection.payload?.username) await this.inbound.flush(String(connection.payload.username));
  }

  private liveDevice(phone: string): LiveDevice | undefined {
    const connection = this.live.find(phone);
    const device = connection && this.deviceOf(connection);
    return connection && device ? { connection, device } : undefined;
  }

  /** The older connection learns it was replaced before the newer one is told it is in. */
  private async replace(account: Account, older: SimConnection, newer: SimConnection): Promise<void> {
    account.conflicts++;
    this.conflicts++;
    this.log({ event: 'conflict', phone: account.phone, replaced: older.id, by: newer.id });
    await older.part(connectionReplaced());
  }

  private deviceOf(connection: SimConnection) {
    const payload = connection.payload;
    if (!payload || payload.devicePairingData) return undefined;
    return this.accounts.findDevice(String(payload.username ?? ''), payload.device ?? 0);
  }

  private log(event: Record<string, unknown>): void {
    this.options.log?.(event);
  }
}
