import type { MessagingOptions } from './messaging';

// What the sim is configured with and what it reports, apart from the server that does the work.

export interface WaSimOptions extends MessagingOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port; read the real one from `start()`. @default 0 */
  port?: number;
  /** QR refs offered to each registering device; Baileys rotates through them, then gives up with 408. @default 6 */
  refsPerRegistration?: number;
  /** How long `scanQr` waits for the companion's `pair-device-sign`. @default 10000 */
  replyTimeoutMs?: number;
  /**
   * Drops a connection that sent nothing for this long, as WhatsApp drops a client whose keep-alive pings
   * stopped (Baileys pings every `keepAliveIntervalMs`, 30 s by default). 0 never drops. @default 0
   */
  idleTimeoutMs?: number;
  /** Protocol errors and notable events, one object each; silent by default. */
  log?: (event: Record<string, unknown>) => void;
}

export interface WaSimStats {
  registrations: number;
  logins: number;
  /** Connections past the handshake and not yet closed, registering devices included. */
  live: number;
  /** Logins that replaced a live connection of the same account, over all accounts. */
  conflicts: number;
  /** Connections dropped because the client went quiet for longer than `idleTimeoutMs`. */
  idleDrops: number;
  /** Distinct message ids the sim took for each recipient jid (`<phone>@s.whatsapp.net`); a resend counts once. */
  messagesByRecipient: Record<string, number>;
}

/** An account as the control API lists it. */
export interface AccountSummary {
  phone: string;
  /** Linked companion device numbers. */
  devices: number[];
  /** Logged-in connections of this account: 0 or 1, as WhatsApp keeps one per account. */
  live: number;
  conflicts: number;
  /** The last `presence` a client of the account set (`available`, `unavailable`); absent until one did. */
  presence?: string;
}
