import type { BinaryNode, proto } from 'baileys';
import type { WebSocket } from 'ws';
import type { Account, AccountRegistry } from './accounts';
import type { CompanionLinking } from './companion-linking';
import type { InboundMessages, LiveDevice } from './inbound-messages';
import { answerIq } from './iq-answers';
import { LiveConnections } from './live-connections';
import type { Messaging } from './messaging';
import type { PendingReplies } from './pending-replies';
import type { ServerIdentity } from './server-identity';
import { SimConnection, type ConnectionEvents } from './sim-connection';
import { connectionReplaced, loginFailure, loginSuccess, offlineDelivered } from './stanzas';

/** The parts of the sim a connection's stanzas reach. */
export interface ChatParts {
  accounts: AccountRegistry;
  identity: ServerIdentity;
  messaging: Messaging;
  linking: CompanionLinking;
  inbound: InboundMessages;
  replies: PendingReplies;
}

/**
 * The WebSocket side of the sim: each connection's handshake (a registration or a login), the stanzas
 * it sends, and the one live connection per account, an older one being replaced by a newer.
 */
export class ChatEndpoint implements ConnectionEvents {
  readonly live = new LiveConnections();
  /** Phones whose logins are refused, with the failure reason to give. */
  readonly refusals = new Map<string, number>();
  /** Phones whose queries (iq get and set) go unanswered, as from a server that stopped answering, with the xmlns of each held. */
  readonly unanswered = new Map<string, string[]>();
  private readonly connections = new Set<SimConnection>();
  private nextConnectionId = 1;
  registrations = 0;
  logins = 0;
  conflicts = 0;
  idleDrops = 0;

  constructor(
    private readonly parts: ChatParts,
    private readonly idleTimeoutMs: number | undefined,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {}

  accept(socket: WebSocket): void {
    this.connections.add(new SimConnection(this.nextConnectionId++, socket, this.parts.identity, this, this.idleTimeoutMs));
  }

  openCount(): number {
    return [...this.connections].filter((connection) => connection.isOpen).length;
  }

  terminateAll(): void {
    for (const connection of this.connections) connection.terminate();
  }

  /** The account's logged-in connection and the device it logged in as, if it has one. */
  liveDevice(phone: string): LiveDevice | undefined {
    const connection = this.live.find(phone);
    const device = connection && this.deviceOf(connection);
    return connection && device ? { connection, device } : undefined;
  }

  onHandshake(connection: SimConnection, payload: proto.ClientPayload): void {
    const reply = payload.devicePairingData ? this.register(connection) : this.login(connection, payload);
    reply.catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
  }

  onStanza(connection: SimConnection, node: BinaryNode): void {
    if (node.tag === 'message') {
      const ack = this.parts.messaging.acceptMessage(connection, node);
      if (!ack) return;
      connection.send(ack).catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
      return;
    }
    if (this.parts.messaging.acceptPresence(connection, node)) return;
    if (node.tag !== 'iq') {
      this.parts.inbound.onAcknowledgement(connection, node);
      return;
    }
    if (node.attrs.type === 'result' || node.attrs.type === 'error') {
      this.parts.replies.answer(connection, node);
      return;
    }
    const phone = String(connection.payload?.username ?? '');
    const held = this.unanswered.get(phone);
    if (held) return void held.push(node.attrs.xmlns ?? '');
    this.answer(connection, node).catch((err: unknown) => this.log({ event: 'iq-failed', connection: connection.id, err: String(err) }));
  }

  onClosed(connection: SimConnection): void {
    this.connections.delete(connection);
    this.live.release(connection);
    this.parts.linking.forget(connection);
    this.parts.replies.abandon(connection);
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
    await connection.send(this.parts.linking.offerRefs(connection));
  }

  private async login(connection: SimConnection, payload: proto.ClientPayload): Promise<void> {
    const { accounts, inbound } = this.parts;
    const phone = String(payload.username ?? '');
    const account = accounts.find(phone);
    const refusal = !account || !accounts.findDevice(phone, payload.device ?? 0) ? 401 : this.refusals.get(phone);
    if (!account || refusal !== undefined) {
      await connection.send(loginFailure(refusal ?? 401));
      connection.close();
      return;
    }
    this.logins++;
    const replaced = this.live.claim(phone, connection);
    if (replaced) await this.replace(account, replaced, connection);
    inbound.loggedIn(connection);
    await connection.send(loginSuccess(`${account.lid}@lid`));
    const waited = await inbound.flush(phone);
    // Baileys holds its events back until told that offline delivery is done (or for 30 s).
    await connection.send(offlineDelivered(waited));
  }

  private async answer(connection: SimConnection, iq: BinaryNode): Promise<void> {
    const answer = (await this.parts.messaging.answerIq(iq)) ?? this.parts.linking.answerIq(connection, iq) ?? answerIq(iq, this.deviceOf(connection));
    await connection.send(answer);
    // A device's first login uploads its keys only after `success`: what waited for them can go now.
    if (iq.attrs.xmlns === 'encrypt' && connection.payload?.username) await this.parts.inbound.flush(String(connection.payload.username));
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
    return this.parts.accounts.findDevice(String(payload.username ?? ''), payload.device ?? 0);
  }
}
