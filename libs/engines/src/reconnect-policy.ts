import { DisconnectReason } from 'baileys';
import type { EngineCloseReason } from './engine';

/** Reconnect timing of {@link BaileysEngine}. */
export interface ReconnectOptions {
  /** Delay before the first reconnect after a transient disconnect; doubles on each further one. @default 1000 */
  initialDelayMs?: number;
  /** The delay never grows past this. @default 30000 */
  maxDelayMs?: number;
  /**
   * Consecutive 500 (bad session) closes tolerated before giving up with `failed`: unlike a lost network,
   * a session WhatsApp keeps rejecting does not heal by retrying forever. @default 3
   */
  maxBadSessionRetries?: number;
}

export type DisconnectAction =
  | { kind: 'reconnect'; delayMs: number }
  | { kind: 'close'; reason: EngineCloseReason; wipe: boolean };

/**
 * What to do after the socket closed with `code`, as notes/wa-sim-protocol.md lays out. Stateful only in
 * counting consecutive failures, which a successful login resets.
 */
export class ReconnectPolicy {
  private failures = 0;
  private badSessions = 0;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxBadSessionRetries: number;

  constructor(options: ReconnectOptions = {}, private readonly random: () => number = Math.random) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxBadSessionRetries = options.maxBadSessionRetries ?? 3;
  }

  /** A login succeeded: the next trouble starts from the shortest delay again. */
  opened(): void {
    this.failures = 0;
    this.badSessions = 0;
  }

  /**
   * @param socket.paired whether the creds hold `me` (a linked device)
   * @param socket.showedQr whether the closed socket emitted a QR: Baileys closes with 408 when the refs run
   *   out, but a connection error (ECONNRESET, a timeout) is 408 too, and only the former is `qr_expired`
   */
  decide(code: number | undefined, socket: { paired: boolean; showedQr: boolean }): DisconnectAction {
    switch (code) {
      case DisconnectReason.restartRequired:
        // Not a failure: WhatsApp asks for it right after pairing, and the new creds are already in hand.
        return { kind: 'reconnect', delayMs: 0 };
      case DisconnectReason.loggedOut:
      case DisconnectReason.forbidden:
      case DisconnectReason.multideviceMismatch:
        return { kind: 'close', reason: 'logged_out', wipe: true };
      case DisconnectReason.connectionReplaced:
        // Another owner logged in; reconnecting would kick it and start a fight neither side wins.
        return { kind: 'close', reason: 'replaced', wipe: false };
      case DisconnectReason.timedOut:
        if (!socket.paired && socket.showedQr) return { kind: 'close', reason: 'qr_expired', wipe: false };
        return this.backoff();
      case DisconnectReason.badSession:
        if (++this.badSessions > this.maxBadSessionRetries) return { kind: 'close', reason: 'failed', wipe: false };
        return this.backoff();
      default:
        // 428, 503, a closed socket without a code, and anything new: treat as transient.
        return this.backoff();
    }
  }

  private backoff(): DisconnectAction {
    const ceiling = Math.min(this.initialDelayMs * 2 ** this.failures++, this.maxDelayMs);
    // Half fixed, half random: sessions that lost the same network do not all come back in the same millisecond.
    return { kind: 'reconnect', delayMs: Math.round(ceiling / 2 + (this.random() * ceiling) / 2) };
  }
}
