import { decodeBinaryNode, encodeBinaryNode, type BinaryNode, type proto } from 'baileys';
import { WebSocket } from 'ws';
import { encodeFrame, FrameReader } from './frames';
import { NoiseResponder, type TransportCipher } from './noise-responder';
import type { ServerIdentity } from './server-identity';

/** What a connection reports upwards; the server decides what each means for the account. */
export interface ConnectionEvents {
  onHandshake(connection: SimConnection, payload: proto.ClientPayload): void;
  onStanza(connection: SimConnection, node: BinaryNode): void;
  onClosed(connection: SimConnection): void;
  onProtocolError(connection: SimConnection, err: unknown): void;
  /** The client went quiet for longer than the idle timeout and was dropped. */
  onIdle(connection: SimConnection): void;
}

type Phase = 'hello' | 'finish' | 'transport' | 'closed';

/**
 * One client socket: frames, the noise handshake, then binary nodes inside transport encryption.
 * Frames are processed strictly in order because transport counters advance per frame and
 * `decodeBinaryNode` is async.
 */
export class SimConnection {
  private phase: Phase = 'hello';
  private readonly reader = new FrameReader();
  private readonly noise: NoiseResponder;
  private transport?: TransportCipher;
  private inbound: Promise<void> = Promise.resolve();
  private nextId = 1;
  private readonly idleTimer?: NodeJS.Timeout;
  /** Set once the client has identified itself; `<user>:<device>` for a login, undefined while registering. */
  payload?: proto.ClientPayload;

  constructor(
    readonly id: number,
    private readonly socket: WebSocket,
    identity: ServerIdentity,
    private readonly events: ConnectionEvents,
    idleTimeoutMs = 0,
  ) {
    this.noise = new NoiseResponder(identity);
    if (idleTimeoutMs > 0) this.idleTimer = setTimeout(() => this.dropIdle(), idleTimeoutMs);
    socket.on('message', (data) => {
      this.idleTimer?.refresh();
      this.inbound = this.inbound.then(() => this.receive(data)).catch((err: unknown) => this.fail(err));
    });
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  get isOpen(): boolean {
    return this.phase === 'transport';
  }

  /** Stanza ids the sim originates; distinct from the client's own tag prefix. */
  generateId(): string {
    return `sim-${this.id}-${this.nextId++}`;
  }

  async send(node: BinaryNode): Promise<void> {
    if (!this.transport || this.phase !== 'transport') {
      throw new Error(`connection ${this.id} is not in transport phase (${this.phase})`);
    }
    const frame = encodeFrame(this.transport.encrypt(encodeBinaryNode(node)));
    await new Promise<void>((resolve, reject) =>
      this.socket.send(frame, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * Sends a parting node (a stream error) and closes. A connection that is going anyway changes nothing
   * if the parting words do not reach it, so a failed send is not an error here.
   */
  async part(parting: BinaryNode): Promise<void> {
    try {
      await this.send(parting);
    } catch {
      // the socket is closed below all the same
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.socket.close();
    this.markClosed();
  }

  /**
   * As a network that went away: nothing the client sends is read any more (its pings and its close
   * handshake included), and the connection stays up until one side gives up on it.
   */
  freeze(): void {
    this.socket.pause();
  }

  /** For shutdown: a graceful close would wait up to 30 s for a client that may never answer. */
  terminate(): void {
    this.socket.terminate();
    this.markClosed();
  }

  private async receive(data: Buffer): Promise<void> {
    for (const frame of this.reader.push(data)) {
      if (this.phase === 'closed') return;
      await this.receiveFrame(frame);
    }
  }

  private async receiveFrame(frame: Buffer): Promise<void> {
    switch (this.phase) {
      case 'hello':
        this.socket.send(encodeFrame(this.noise.answerHello(frame)));
        this.phase = 'finish';
        return;
      case 'finish': {
        const { payload, transport } = this.noise.finish(frame);
        this.transport = transport;
        this.payload = payload;
        this.phase = 'transport';
        this.events.onHandshake(this, payload);
        return;
      }
      case 'transport': {
        const node = await decodeBinaryNode(this.transport!.decrypt(frame));
        this.events.onStanza(this, node);
        return;
      }
    }
  }

  /** A protocol violation ends the socket the way WhatsApp does: without explanation. */
  private fail(err: unknown): void {
    this.events.onProtocolError(this, err);
    this.socket.terminate();
    this.markClosed();
  }

  /**
   * WhatsApp drops a client whose keep-alive pings stopped: a frozen or cut-off process cannot close its
   * socket, and without this its connection would stay live until someone else logs in over it.
   */
  private dropIdle(): void {
    if (this.phase === 'closed') return;
    this.events.onIdle(this);
    this.socket.terminate();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.idleTimer);
    this.events.onClosed(this);
  }
}
