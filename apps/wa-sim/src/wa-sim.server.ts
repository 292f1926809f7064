import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getBinaryNodeChild, type BinaryNode, type proto } from 'baileys';
import { WebSocketServer } from 'ws';
import { AccountRegistry } from './accounts';
import { buildPairSuccess, parsePairingQr } from './phone-scan';
import { createServerIdentity, type ServerIdentity } from './server-identity';
import { SimConnection, type ConnectionEvents } from './sim-connection';
import {
  firstChildTag,
  iqResult,
  loginFailure,
  loginSuccess,
  pairDevice,
  restartRequired,
  uploadedPreKeyCount,
} from './stanzas';

export interface WaSimOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port; read the real one from `start()`. @default 0 */
  port?: number;
  /** QR refs offered to each registering device; Baileys rotates through them, then gives up with 408. @default 6 */
  refsPerRegistration?: number;
  /** How long `scanQr` waits for the companion's `pair-device-sign`. @default 10000 */
  replyTimeoutMs?: number;
  /** Protocol errors and notable events, one object each; silent by default. */
  log?: (event: Record<string, unknown>) => void;
}

export interface WaSimStats {
  registrations: number;
  logins: number;
  liveConnections: number;
}

/** The result of a phone scanning a companion's QR. */
export interface PairedDevice {
  jid: string;
  lid: string;
}

const WS_PATH = '/ws/chat';

interface PendingReply {
  connection: SimConnection;
  settle(outcome: BinaryNode | Error): void;
}

/** WhatsApp Web's server side on loopback: enough of it that an unmodified Baileys pairs and logs in. */
export class WaSimServer implements ConnectionEvents {
  readonly accounts = new AccountRegistry();
  private readonly identity: ServerIdentity = createServerIdentity();
  private readonly connections = new Set<SimConnection>();
  /** QR ref → the registering connection that showed it. */
  private readonly refs = new Map<string, SimConnection>();
  /** `<connection id>/<iq id>` → who awaits the client's answer to a sim-originated iq. */
  private readonly awaitingReply = new Map<string, PendingReply>();
  private http?: Server;
  private wss?: WebSocketServer;
  private nextConnectionId = 1;
  private registrations = 0;
  private logins = 0;

  constructor(private readonly options: WaSimOptions = {}) {}

  /** @returns the port actually bound */
  async start(): Promise<number> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: WS_PATH });
    wss.on('connection', (socket) => {
      this.connections.add(new SimConnection(this.nextConnectionId++, socket, this.identity, this));
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
  }

  stats(): WaSimStats {
    return { registrations: this.registrations, logins: this.logins, liveConnections: this.liveConnections().length };
  }

  /** Whether `ref` is in a QR that a still-connected registering device may be showing. */
  offersRef(ref: string): boolean {
    return this.refs.get(ref)?.isOpen ?? false;
  }

  /**
   * A phone with number `phone` scans `qr`: the sim links the companion to that account, tells it so
   * with `pair-success`, waits for its signature and then asks it to reconnect (515), as WhatsApp does.
   */
  async scanQr(qr: string, phone: string): Promise<PairedDevice> {
    const scanned = parsePairingQr(qr);
    const connection = this.refs.get(scanned.ref);
    if (!connection?.isOpen) throw new Error(`no registering device shows ref ${scanned.ref}`);
    const account = this.accounts.ensure(phone);
    const device = this.accounts.linkDevice(account, scanned.identityKey);
    const id = connection.generateId();
    const reply = this.awaitReply(connection, id);
    await connection.send(buildPairSuccess(id, account, device, scanned));
    const answer = await reply;
    if (!getBinaryNodeChild(answer, 'pair-device-sign')) {
      throw new Error(`companion answered pair-success without pair-device-sign (type ${answer.attrs.type})`);
    }
    this.forgetRefs(connection);
    await connection.send(restartRequired());
    connection.close();
    return { jid: `${phone}:${device.device}@s.whatsapp.net`, lid: `${account.lid}:${device.device}@lid` };
  }

  onHandshake(connection: SimConnection, payload: proto.ClientPayload): void {
    const reply = payload.devicePairingData ? this.register(connection) : this.login(connection, payload);
    reply.catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
  }

  onStanza(connection: SimConnection, node: BinaryNode): void {
    if (node.tag !== 'iq') return;
    const { type, id } = node.attrs;
    if (type === 'result' || type === 'error') {
      const key = `${connection.id}/${id}`;
      this.awaitingReply.get(key)?.settle(node);
      return;
    }
    connection
      .send(this.answerIq(connection, node))
      .catch((err: unknown) => this.log({ event: 'send-failed', connection: connection.id, err: String(err) }));
  }

  onClosed(connection: SimConnection): void {
    this.connections.delete(connection);
    this.forgetRefs(connection);
    for (const pending of this.awaitingReply.values()) {
      if (pending.connection === connection) pending.settle(new Error(`connection ${connection.id} closed before answering`));
    }
  }

  onProtocolError(connection: SimConnection, err: unknown): void {
    this.log({ event: 'protocol-error', connection: connection.id, err: String(err) });
  }

  private async register(connection: SimConnection): Promise<void> {
    this.registrations++;
    const refs = Array.from({ length: this.options.refsPerRegistration ?? 6 }, () => newRef());
    for (const ref of refs) this.refs.set(ref, connection);
    await connection.send(pairDevice(connection.generateId(), refs));
  }

  private async login(connection: SimConnection, payload: proto.ClientPayload): Promise<void> {
    const phone = String(payload.username ?? '');
    const account = this.accounts.find(phone);
    if (!account || !this.accounts.findDevice(phone, payload.device ?? 0)) {
      await connection.send(loginFailure(401));
      connection.close();
      return;
    }
    this.logins++;
    await connection.send(loginSuccess(`${account.lid}@lid`));
  }

  private answerIq(connection: SimConnection, iq: BinaryNode): BinaryNode {
    if (iq.attrs.xmlns !== 'encrypt') return iqResult(iq);
    const device = this.deviceOf(connection);
    switch (firstChildTag(iq)) {
      case 'count':
        return iqResult(iq, [{ tag: 'count', attrs: { value: String(device?.preKeyCount ?? 0) } }]);
      case 'digest':
        // Baileys only checks that a digest is present; without one it re-uploads every login.
        return iqResult(iq, [{ tag: 'digest', attrs: {} }]);
      default:
        if (device && getBinaryNodeChild(iq, 'list')) device.preKeyCount += uploadedPreKeyCount(iq);
        return iqResult(iq);
    }
  }

  private deviceOf(connection: SimConnection) {
    const payload = connection.payload;
    if (!payload || payload.devicePairingData) return undefined;
    return this.accounts.findDevice(String(payload.username ?? ''), payload.device ?? 0);
  }

  private awaitReply(connection: SimConnection, id: string): Promise<BinaryNode> {
    const key = `${connection.id}/${id}`;
    const timeoutMs = this.options.replyTimeoutMs ?? 10_000;
    return new Promise<BinaryNode>((resolve, reject) => {
      const settle = (outcome: BinaryNode | Error) => {
        clearTimeout(timer);
        this.awaitingReply.delete(key);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(
        () => settle(new Error(`no answer to iq ${id} on connection ${connection.id} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.awaitingReply.set(key, { connection, settle });
    });
  }

  private forgetRefs(connection: SimConnection): void {
    for (const [ref, owner] of this.refs) if (owner === connection) this.refs.delete(ref);
  }

  private liveConnections(): SimConnection[] {
    return [...this.connections].filter((connection) => connection.isOpen);
  }

  private log(event: Record<string, unknown>): void {
    this.options.log?.(event);
  }
}

/** Shaped like WhatsApp's refs (`2@…`); only the sim needs to recognise them. */
function newRef(): string {
  return `2@${randomBytes(24).toString('base64')}`;
}
