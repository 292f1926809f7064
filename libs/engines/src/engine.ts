import { EventEmitter } from 'node:events';

/**
 * Why an engine stopped talking to WhatsApp for good (until started again). Transient disconnects are
 * not closes: the engine reconnects by itself and only reports the outcome.
 * - `stopped`: our own `stop()`.
 * - `logged_out`: the phone unlinked the device (or `logout()`); the auth state has been wiped.
 * - `qr_expired`: every QR ref was shown and none was scanned.
 * - `replaced`: another connection of the same account logged in; the engine does not fight it.
 * - `stale_epoch`: an auth-state write was refused because another owner claimed the session.
 * - `failed`: the engine gave up reconnecting.
 */
export type EngineCloseReason = 'stopped' | 'logged_out' | 'qr_expired' | 'replaced' | 'stale_epoch' | 'failed';

/** The linked account, as WhatsApp names it: `id` is the device jid (`<phone>:<device>@s.whatsapp.net`). */
export interface EngineMe {
  id: string;
  name?: string;
}

export interface EngineEvents {
  /** A QR to show the user; a registering engine emits a new one each time the previous ref expires. */
  qr: [qr: string];
  /** Logged in; emitted again after every successful reconnect. */
  open: [me: EngineMe];
  /** A code the user types on the phone (Linked devices → Link with phone number) instead of scanning. */
  'pairing-code': [code: string];
  /** Emitted once per `start()`, whatever ended it. */
  close: [reason: EngineCloseReason];
}

/**
 * The port every WhatsApp connection sits behind (DI token): Baileys today, the Cloud API later. An engine
 * serves one session under one fencing epoch; the session layer owns the lifecycle lock around it.
 */
export abstract class Engine extends EventEmitter<EngineEvents> {
  /** Connects (registering with a QR when the session has no creds yet); resolves once the attempt is under way. */
  abstract start(): Promise<void>;
  /** Disconnects and cancels any pending reconnect; emits `close('stopped')` unless already closed. */
  abstract stop(): Promise<void>;
  /** Unlinks the device from the account, wipes the auth state and emits `close('logged_out')`. */
  abstract logout(): Promise<void>;
  /**
   * Asks WhatsApp for a code that links `phone` (digits only) without a QR. Only while registering, that
   * is after the first `qr` and before pairing; otherwise it rejects with EngineNotRegisteringError.
   */
  abstract requestPairingCode(phone: string): Promise<string>;
}
