import { Agent } from 'node:https';
import makeWASocket, { DEFAULT_CONNECTION_CONFIG, DisconnectReason, type AuthenticationState, type WASocket } from 'baileys';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { AuthStateStore } from './auth-state.store';
import { BaileysMessaging } from './baileys-messaging';
import { Engine, type DownloadedMedia, type EngineCloseReason } from './engine';
import { EngineNotConnectedError, EngineNotRegisteringError } from './engine.errors';
import { FencedAuthWrites } from './fenced-auth-writes';
import { InboundStaging } from './inbound-staging';
import type { MediaDescriptor } from './inbound-message';
import type { MessageKey, OutgoingMessage, PresenceState, SentMessage } from './outgoing-message';
import { ReconnectPolicy, type ReconnectOptions } from './reconnect-policy';
import { SocketEndings } from './socket-endings';

/** The logger shape Baileys needs; a pino logger fits. */
export interface EngineLogger {
  level: string;
  child(bindings: Record<string, unknown>): EngineLogger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface BaileysEngineOptions {
  sessionId: string;
  /** The fencing epoch this engine's owner holds; every auth-state write is refused once it moved on. */
  epoch: number | bigint;
  dataSource: DataSource;
  /** WhatsApp Web's WebSocket, or wa-sim's `ws://host:port/ws/chat`. @default Baileys' own (WhatsApp's servers) */
  waWebSocketUrl?: string;
  /** @default a silent pino logger */
  logger?: EngineLogger;
  /** How long each QR lives before the next ref is shown. @default Baileys' (60 s for the first, 20 s after) */
  qrTimeoutMs?: number;
  /** How often to ping WhatsApp; silence for this long plus 5 s counts as a lost connection. @default Baileys' (30 s) */
  keepAliveMs?: number;
  reconnect?: ReconnectOptions;
  /**
   * PEM certificate(s) the media hosts' TLS must chain to, instead of the system's CAs: wa-sim's media
   * host (`WaSimServer.mediaCertificate()`) presents a self-signed one. @default the system's CAs
   */
  mediaCertificate?: string;
}

/**
 * One session on the WhatsApp Web multi-device protocol through the unmodified Baileys, its auth state in
 * the database under the owner's fencing epoch. It reconnects by itself on transient disconnects and on
 * the restart WhatsApp asks for after pairing; everything else ends in one `close(reason)`.
 *
 * Baileys leaves timers this class cannot clear: every pre-key upload races a 30 s `UPLOAD_TIMEOUT` timer
 * it never cancels, and a failing key commit is retried with its own delays (`transactionOpts`). They
 * fire into an ended socket and do nothing, but they hold the event loop until they do.
 */
export class BaileysEngine extends Engine {
  private readonly store: AuthStateStore;
  private readonly logger: EngineLogger;
  private readonly messaging: BaileysMessaging;
  private readonly staging: InboundStaging;
  private policy: ReconnectPolicy;
  private auth?: AuthenticationState;
  private socket?: WASocket;
  private readonly endings: SocketEndings;
  /** The current socket has shown a QR: it is registering, and may ask for a pairing code instead. */
  private registering = false;
  /** The current socket has logged in (`open`) and not closed since: messages can go. */
  private loggedIn = false;
  private reconnectTimer?: NodeJS.Timeout;
  private running = false;
  private closing?: Promise<void>;
  /** Once fenced off by a newer owner, nothing is written and nothing reconnects. */
  private readonly writes: FencedAuthWrites;

  constructor(private readonly options: BaileysEngineOptions) {
    super();
    this.store = new AuthStateStore(options.dataSource, options.sessionId, options.epoch);
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ sessionId: options.sessionId });
    this.policy = new ReconnectPolicy(options.reconnect);
    this.endings = new SocketEndings(options.sessionId);
    this.writes = new FencedAuthWrites(this.store, options.sessionId, this.logger, () => void this.closeWith('stale_epoch', false));
    const mediaAgent = options.mediaCertificate ? new Agent({ ca: options.mediaCertificate }) : undefined;
    this.staging = new InboundStaging(options.dataSource, options.sessionId, this.logger, (write) => this.writes.alongside(write));
    this.messaging = new BaileysMessaging(this, options.sessionId, this.logger, mediaAgent, this.staging);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.writes.reset();
    this.policy = new ReconnectPolicy(this.options.reconnect);
    let state: AuthenticationState;
    try {
      state = await this.store.load();
    } catch (error) {
      this.running = false;
      throw error;
    }
    // stop() may have run while the state was loading; it already emitted close.
    if (!this.running || this.closing) return;
    this.auth = { creds: state.creds, keys: this.writes.keys(state.keys) };
    this.connect();
  }

  stop(): Promise<void> {
    return this.closeWith('stopped', false);
  }

  async logout(): Promise<void> {
    if (!this.running) {
      await this.store.wipe();
      return;
    }
    const socket = this.socket;
    if (socket && this.isPaired()) {
      try {
        // Tells WhatsApp to unlink the device, then ends the socket with 401, which lands in onClose.
        await socket.logout();
      } catch (error) {
        this.logger.warn({ err: error }, 'logout request failed; wiping the auth state anyway');
      }
    }
    await this.closeWith('logged_out', true);
  }

  async requestPairingCode(phone: string): Promise<string> {
    const socket = this.socket;
    if (!socket || !this.registering) throw new EngineNotRegisteringError(this.options.sessionId);
    const code = await socket.requestPairingCode(phone);
    if (socket === this.socket) this.emit('pairing-code', code);
    return code;
  }

  async send(message: OutgoingMessage): Promise<SentMessage> {
    return this.whileConnected((socket) => this.messaging.send(socket, message));
  }

  async edit(target: MessageKey, text: string, id?: string): Promise<SentMessage> {
    return this.whileConnected((socket) => this.messaging.edit(socket, target, text, id));
  }

  async deleteForEveryone(target: MessageKey, id?: string): Promise<SentMessage> {
    return this.whileConnected((socket) => this.messaging.deleteForEveryone(socket, target, id));
  }

  async markRead(keys: MessageKey[]): Promise<void> {
    return this.whileConnected((socket) => this.messaging.markRead(socket, keys));
  }

  async sendPresence(chat: string, state: PresenceState): Promise<void> {
    return this.whileConnected((socket) => this.messaging.sendPresence(socket, chat, state));
  }

  async downloadMedia(message: { media?: MediaDescriptor }): Promise<DownloadedMedia> {
    return this.messaging.downloadMedia(message);
  }

  /**
   * Runs `work` on the logged-in socket, checked synchronously so a caller learns at once, not after a
   * timeout; it fails as soon as that socket ends (SocketEndings).
   */
  private whileConnected<T>(work: (socket: WASocket) => Promise<T>): Promise<T> {
    const socket = this.socket;
    if (!socket || !this.loggedIn) return Promise.reject(new EngineNotConnectedError(this.options.sessionId, this.state()));
    return this.endings.untilEnded(socket, () => work(socket));
  }

  private state(): string {
    return !this.running || this.closing ? 'stopped' : this.registering ? 'registering' : 'connecting';
  }

  /**
   * Asking for a pairing code sets `creds.me` to the bare number before any phone agreed. A socket that
   * finds `me` logs in instead of registering, and WhatsApp refuses that login with 401, which would read
   * as the phone unlinking a device it never linked. Until the phone confirms, register afresh.
   */
  private forgetUnconfirmedPairing(): void {
    const creds = this.auth!.creds;
    if (!creds.me || this.isPaired()) return;
    creds.me = undefined;
    creds.pairingCode = undefined;
  }

  /**
   * Linked to a phone: the phone's signed `account` arrives with pair-success. Not `creds.me`, which
   * Baileys already sets to the bare number when a pairing code is asked for, before any phone agreed.
   */
  private isPaired(): boolean {
    return Boolean(this.auth?.creds.account);
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    this.forgetUnconfirmedPairing();
    const socket = makeWASocket({
      auth: this.auth!,
      logger: this.logger,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      // Baileys holds every event of a first login back until the phone's history sync arrives (20 s when
      // none comes); wafleet keeps no history of before the link, so it does not wait for one.
      shouldSyncHistoryMessage: () => false,
      ...(this.options.waWebSocketUrl ? { waWebSocketUrl: this.options.waWebSocketUrl } : {}),
      ...(this.options.qrTimeoutMs ? { qrTimeout: this.options.qrTimeoutMs } : {}),
      ...(this.options.keepAliveMs ? { keepAliveIntervalMs: this.options.keepAliveMs } : {}),
      ...(this.messaging.mediaAgent ? { fetchAgent: this.messaging.mediaAgent } : {}),
      // Each plaintext is staged before Baileys acknowledges its message (InboundStaging).
      makeSignalRepository: (auth, logger, pnToLid) => this.staging.wrap(DEFAULT_CONNECTION_CONFIG.makeSignalRepository(auth, logger, pnToLid)),
    });
    this.socket = socket;
    this.endings.follow(socket);
    this.registering = false;
    this.loggedIn = false;
    this.messaging.listen(socket, () => socket === this.socket);
    let showedQr = false;
    socket.ev.on('creds.update', () => this.writes.saveCreds(this.auth!.creds));
    socket.ev.on('connection.update', (update) => {
      if (update.connection === 'close') this.endings.ended(socket, this.state());
      // Events of a socket we already left (ended by stop, or replaced by a reconnect) change nothing.
      if (socket !== this.socket) return;
      if (update.qr) {
        showedQr = true;
        this.registering = true;
        this.emit('qr', update.qr);
      }
      if (update.connection === 'open') {
        this.registering = false;
        this.loggedIn = true;
        this.policy.opened();
        const me = this.auth!.creds.me!;
        this.emit('open', me.name ? { id: me.id, name: me.name } : { id: me.id });
        this.messaging.recover(socket, () => socket === this.socket).catch((error: unknown) => this.logger.warn({ err: error }, 'reading staged received messages failed'));
      }
      if (update.connection === 'close') {
        this.socket = undefined;
        this.loggedIn = false;
        const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
        void this.onClose(code, showedQr);
      }
    });
  }

  private async onClose(code: number | undefined, showedQr: boolean): Promise<void> {
    if (this.writes.fenced) return this.closeWith('stale_epoch', false);
    const action = this.policy.decide(code, { paired: this.isPaired(), showedQr });
    if (action.kind === 'close') return this.closeWith(action.reason, action.wipe);
    // After pairing, log in only once the creds holding `me` are stored: a crash now must not lose the link.
    if (code === DisconnectReason.restartRequired) await this.writes.credsSaved();
    if (!this.running || this.closing) return;
    this.logger.info({ code, delayMs: action.delayMs }, 'connection closed; reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), action.delayMs);
  }

  /** The single way an engine run ends: idempotent, so stop(), logout() and a close event may race. */
  private closeWith(reason: EngineCloseReason, wipe: boolean): Promise<void> {
    if (!this.running) return Promise.resolve();
    return (this.closing ??= this.shutDown(reason, wipe));
  }

  private async shutDown(reason: EngineCloseReason, wipe: boolean): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.loggedIn = false;
    // `closing` is set only once this returns: the state to report is known here.
    if (socket) this.endings.ended(socket, 'stopped');
    try {
      await socket?.end(undefined);
    } catch (error) {
      this.logger.warn({ err: error }, 'ending the socket failed');
    }
    // A wipe refused because another owner holds the session now leaves its auth state to that owner.
    const wiped = wipe ? await this.writes.wipe() : true;
    const finalReason = wiped ? reason : 'stale_epoch';
    this.running = false;
    this.closing = undefined;
    this.logger.info({ reason: finalReason }, 'engine closed');
    this.emit('close', finalReason);
  }
}
