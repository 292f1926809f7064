import { Agent } from 'node:https';
import makeWASocket, { DisconnectReason, type AuthenticationState, type SignalKeyStore, type WASocket } from 'baileys';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { StaleEpochError } from './auth-state.errors';
import { AuthStateStore } from './auth-state.store';
import { BaileysMessaging } from './baileys-messaging';
import { Engine, type DownloadedMedia, type EngineCloseReason } from './engine';
import { EngineNotConnectedError, EngineNotRegisteringError } from './engine.errors';
import type { MediaDescriptor } from './inbound-message';
import type { MessageKey, OutgoingMessage, PresenceState, SentMessage } from './outgoing-message';
import { ReconnectPolicy, type ReconnectOptions } from './reconnect-policy';

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
  private policy: ReconnectPolicy;
  private auth?: AuthenticationState;
  private socket?: WASocket;
  /** The current socket has shown a QR: it is registering, and may ask for a pairing code instead. */
  private registering = false;
  /** The current socket has logged in (`open`) and not closed since: messages can go. */
  private loggedIn = false;
  private reconnectTimer?: NodeJS.Timeout;
  private running = false;
  private closing?: Promise<void>;
  /** Set once a write met a newer epoch: from then on nothing is written and nothing reconnects. */
  private staleEpoch?: StaleEpochError;
  /** Set before the auth state is wiped, so a straggling write of the dead socket cannot resurrect it. */
  private writesRefused = false;
  /** Key writes under way, so a wipe can wait for the ones that began before it. */
  private readonly keyWrites = new Set<Promise<void>>();
  /** Creds writes in order: each persists the whole (mutated in place) object, so a late older one must not win. */
  private credsWrites: Promise<void> = Promise.resolve();

  constructor(private readonly options: BaileysEngineOptions) {
    super();
    this.store = new AuthStateStore(options.dataSource, options.sessionId, options.epoch);
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ sessionId: options.sessionId });
    this.policy = new ReconnectPolicy(options.reconnect);
    const mediaAgent = options.mediaCertificate ? new Agent({ ca: options.mediaCertificate }) : undefined;
    this.messaging = new BaileysMessaging(this, options.sessionId, this.logger, mediaAgent);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.staleEpoch = undefined;
    this.writesRefused = false;
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
    this.auth = { creds: state.creds, keys: this.fencedKeys(state.keys) };
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
    return this.messaging.send(this.connectedSocket(), message);
  }

  async edit(target: MessageKey, text: string, id?: string): Promise<SentMessage> {
    return this.messaging.edit(this.connectedSocket(), target, text, id);
  }

  async deleteForEveryone(target: MessageKey, id?: string): Promise<SentMessage> {
    return this.messaging.deleteForEveryone(this.connectedSocket(), target, id);
  }

  async markRead(keys: MessageKey[]): Promise<void> {
    return this.messaging.markRead(this.connectedSocket(), keys);
  }

  async sendPresence(chat: string, state: PresenceState): Promise<void> {
    return this.messaging.sendPresence(this.connectedSocket(), chat, state);
  }

  async downloadMedia(message: { media?: MediaDescriptor }): Promise<DownloadedMedia> {
    return this.messaging.downloadMedia(message);
  }

  /** The logged-in socket. Calls are checked synchronously, so a caller learns at once, not after a timeout. */
  private connectedSocket(): WASocket {
    const socket = this.socket;
    if (socket && this.loggedIn) return socket;
    const state = !this.running || this.closing ? 'stopped' : this.registering ? 'registering' : 'connecting';
    throw new EngineNotConnectedError(this.options.sessionId, state);
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
    });
    this.socket = socket;
    this.registering = false;
    this.loggedIn = false;
    this.messaging.listen(socket, () => socket === this.socket);
    let showedQr = false;
    socket.ev.on('creds.update', () => this.saveCreds());
    socket.ev.on('connection.update', (update) => {
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
    if (this.staleEpoch) return this.closeWith('stale_epoch', false);
    const action = this.policy.decide(code, { paired: this.isPaired(), showedQr });
    if (action.kind === 'close') return this.closeWith(action.reason, action.wipe);
    // After pairing, log in only once the creds holding `me` are stored: a crash now must not lose the link.
    if (code === DisconnectReason.restartRequired) await this.credsWrites;
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
    try {
      await socket?.end(undefined);
    } catch (error) {
      this.logger.warn({ err: error }, 'ending the socket failed');
    }
    const finalReason = wipe ? await this.wipe(reason) : reason;
    this.running = false;
    this.closing = undefined;
    this.logger.info({ reason: finalReason }, 'engine closed');
    this.emit('close', finalReason);
  }

  private async wipe(reason: EngineCloseReason): Promise<EngineCloseReason> {
    await this.credsWrites;
    this.writesRefused = true;
    // A key write that began before the refusal must land before the wipe, or it would outlive it.
    await Promise.allSettled([...this.keyWrites]);
    try {
      await this.store.wipe();
      return reason;
    } catch (error) {
      // Another owner holds the session now: its auth state is theirs to keep or wipe.
      if (error instanceof StaleEpochError) return 'stale_epoch';
      this.logger.error({ err: error }, 'wiping the auth state failed');
      return reason;
    }
  }

  private saveCreds(): void {
    const creds = this.auth!.creds;
    this.credsWrites = this.credsWrites.then(async () => {
      if (this.staleEpoch || this.writesRefused) return;
      try {
        await this.store.saveCreds(creds);
      } catch (error) {
        if (error instanceof StaleEpochError) this.fence(error);
        // The creds stay in memory and the next creds.update writes them whole again.
        else this.logger.error({ err: error }, 'saving creds failed');
      }
    });
  }

  /** Keys as Baileys sees them: reads go straight through, writes notice being fenced off. */
  private fencedKeys(keys: SignalKeyStore): SignalKeyStore {
    return {
      get: (type, ids) => keys.get(type, ids),
      set: async (data) => {
        if (this.staleEpoch) throw this.staleEpoch;
        if (this.writesRefused) throw new Error(`session ${this.options.sessionId} was logged out; its keys are not written`);
        const write = Promise.resolve(keys.set(data));
        this.keyWrites.add(write);
        try {
          await write;
        } catch (error) {
          if (error instanceof StaleEpochError) this.fence(error);
          throw error;
        } finally {
          this.keyWrites.delete(write);
        }
      },
    };
  }

  /** Another owner claimed the session: stop talking to WhatsApp at once, and never reconnect. */
  private fence(error: StaleEpochError): void {
    if (this.staleEpoch) return;
    this.staleEpoch = error;
    this.logger.warn({ heldEpoch: error.heldEpoch, currentEpoch: error.currentEpoch }, 'fenced off by a newer owner');
    void this.closeWith('stale_epoch', false);
  }
}
