import { randomBytes } from 'node:crypto';
import { Curve, getBinaryNodeChild, type BinaryNode } from 'baileys';
import type { Account, AccountRegistry } from './accounts';
import { PairingCodes } from './pairing-code';
import type { PendingReplies } from './pending-replies';
import { buildPairSuccess, parsePairingQr } from './phone-scan';
import type { SimConnection } from './sim-connection';
import { iqResult, pairDevice, restartRequired } from './stanzas';
import { WaSimError } from './wa-sim.errors';

/** The result of a phone linking a companion, by QR or by code. */
export interface PairedDevice {
  jid: string;
  lid: string;
}

/**
 * How a registering companion becomes a linked device: the sim offers it QR refs, and a phone either
 * scans one of them or enters the code the companion asked for; both end in `pair-success`, the
 * companion's signature and a 515 restart, as on WhatsApp.
 */
export class CompanionLinking {
  /** QR ref → the registering connection that showed it. */
  private readonly refs = new Map<string, SimConnection>();
  private readonly codes: PairingCodes;

  constructor(
    private readonly accounts: AccountRegistry,
    private readonly replies: PendingReplies,
    private readonly refsPerRegistration: number,
    replyTimeoutMs: number,
  ) {
    this.codes = new PairingCodes(replyTimeoutMs);
  }

  /** The `pair-device` iq for a companion that just connected without creds. */
  offerRefs(connection: SimConnection): BinaryNode {
    const refs = Array.from({ length: this.refsPerRegistration }, () => newRef());
    for (const ref of refs) this.refs.set(ref, connection);
    return pairDevice(connection.generateId(), refs);
  }

  /** Whether `ref` is in a QR that a still-connected registering device may be showing. */
  offersRef(ref: string): boolean {
    return this.refs.get(ref)?.isOpen ?? false;
  }

  /**
   * The answer to an iq of the pairing-code exchange, or of a companion logging itself out (the phone's
   * list of linked devices loses it, as on WhatsApp); undefined for any other iq.
   */
  answerIq(connection: SimConnection, iq: BinaryNode): BinaryNode | undefined {
    if (PairingCodes.isCodeIq(iq)) return this.codes.answer(connection, iq);
    const payload = connection.payload;
    if (!getBinaryNodeChild(iq, 'remove-companion-device') || !payload || payload.devicePairingData) return undefined;
    const account = this.accounts.find(String(payload.username ?? ''));
    if (account) this.accounts.unlinkDevice(account, payload.device ?? 0);
    return iqResult(iq);
  }

  async scanQr(qr: string, phone: string): Promise<PairedDevice> {
    const scanned = parsePairingQr(qr);
    const connection = this.refs.get(scanned.ref);
    if (!connection?.isOpen) throw new WaSimError('unknown_ref', 404, `no registering device shows ref ${scanned.ref}`);
    return this.link(connection, this.accounts.ensure(phone), scanned);
  }

  async enterPairingCode(phone: string, code: string): Promise<PairedDevice> {
    const known = this.accounts.find(phone)?.accountKeyPair;
    const exchanged = await this.codes.enter(phone, code, known ?? Curve.generateKeyPair());
    const account = this.accounts.ensure(phone, exchanged.primaryIdentity);
    return this.link(exchanged.connection, account, {
      identityKey: exchanged.companionIdentityKey,
      advSecret: exchanged.advSecret,
    });
  }

  forget(connection: SimConnection): void {
    for (const [ref, owner] of this.refs) if (owner === connection) this.refs.delete(ref);
    this.codes.forget(connection);
  }

  private async link(
    connection: SimConnection,
    account: Account,
    companion: { identityKey: Buffer; advSecret: Buffer },
  ): Promise<PairedDevice> {
    const device = this.accounts.linkDevice(account, companion.identityKey);
    const id = connection.generateId();
    const reply = this.replies.await(connection, id);
    await connection.send(buildPairSuccess(id, account, device, companion));
    const answer = await reply;
    if (!getBinaryNodeChild(answer, 'pair-device-sign')) {
      throw new Error(`companion answered pair-success without pair-device-sign (type ${answer.attrs.type})`);
    }
    this.forget(connection);
    await connection.send(restartRequired());
    connection.close();
    return { jid: `${account.phone}:${device.device}@s.whatsapp.net`, lid: `${account.lid}:${device.device}@lid` };
  }
}

/** Shaped like WhatsApp's refs (`2@…`); only the sim needs to recognise them. */
function newRef(): string {
  return `2@${randomBytes(24).toString('base64')}`;
}
