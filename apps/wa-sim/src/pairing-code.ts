import { randomBytes } from 'node:crypto';
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  Curve,
  derivePairingCodeKey,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  jidDecode,
  S_WHATSAPP_NET,
  hkdf,
  type BinaryNode,
  type KeyPair,
} from 'baileys';
import type { SimConnection } from './sim-connection';
import { iqResult } from './stanzas';
import { invalidField, WaSimError } from './wa-sim.errors';

/**
 * Eight letters or digits, as the phone's code field takes them. Baileys draws its own from `1-9` and
 * `A-Z` without I, O and U, but `requestPairingCode(phone, custom)` lets a client choose any 8 characters.
 */
const PAIRING_CODE = /^[0-9A-Z]{8}$/;

/** A companion that asked to be linked by code and waits for the phone to enter it. */
interface CodeRequest {
  connection: SimConnection;
  phone: string;
  ref: Buffer;
  /** `salt(32) ‖ iv(16) ‖ AES-CTR(companion ephemeral public key)`, keyed by PBKDF2 of the code. */
  wrappedCompanionEphemeral: Buffer;
  /** The next `companion_finish` from this companion, once the phone has answered its hello. */
  awaitFinish?: (finish: BinaryNode) => void;
}

/** What the phone learned once the companion proved it shares the code: all `pair-success` needs. */
export interface CodeLink {
  connection: SimConnection;
  phone: string;
  /** The phone's identity key pair; WhatsApp uses it as the account signature key too. */
  primaryIdentity: KeyPair;
  companionIdentityKey: Buffer;
  advSecret: Buffer;
}

/**
 * The phone side of "link with phone number": the companion sends `companion_hello` with its ephemeral
 * key wrapped under the code it shows; the phone, given the code, wraps its own ephemeral key the same
 * way and sends `primary_hello`; the companion answers `companion_finish` with its identity encrypted
 * under the ephemeral DH. Neither side can check the code alone: a wrong code only shows when the phone
 * fails to decrypt that bundle, so validating it takes the whole round trip.
 */
export class PairingCodes {
  /** By phone number: the newest request wins, as a phone shows one pending code per number. */
  private readonly byPhone = new Map<string, CodeRequest>();

  constructor(private readonly replyTimeoutMs: number) {}

  /** Whether `iq` belongs to this flow; the sim routes it here instead of answering a bare result. */
  static isCodeIq(iq: BinaryNode): boolean {
    return iq.attrs.xmlns === 'md' && getBinaryNodeChild(iq, 'link_code_companion_reg') !== undefined;
  }

  /** The answer to a `link_code_companion_reg` iq from a registering companion. */
  answer(connection: SimConnection, iq: BinaryNode): BinaryNode {
    const reg = getBinaryNodeChild(iq, 'link_code_companion_reg')!;
    const stage = reg.attrs.stage;
    if (stage === 'companion_hello') return this.hello(connection, iq, reg);
    if (stage === 'companion_finish') {
      const request = [...this.byPhone.values()].find((r) => r.connection === connection);
      request?.awaitFinish?.(reg);
      return iqResult(iq);
    }
    return iqResult(iq);
  }

  /**
   * The phone of `phone` enters `code`: sends the companion `primary_hello` and checks its answer.
   * @throws WaSimError 400 for a malformed code, 404 when no companion waits for one, 403 for a wrong code
   */
  async enter(phone: string, code: string, primaryIdentity: KeyPair): Promise<CodeLink> {
    const normalized = code.replace(/[\s-]/g, '').toUpperCase();
    if (!PAIRING_CODE.test(normalized)) throw invalidField('code', 'the 8-character code the companion shows');
    const request = this.byPhone.get(phone);
    if (!request?.connection.isOpen) {
      throw new WaSimError('no_code_request', 404, `no companion waits for a pairing code for ${phone}`);
    }
    const companionEphemeral = await unwrapKey(request.wrappedCompanionEphemeral, normalized);
    const primaryEphemeral = Curve.generateKeyPair();
    const finished = this.awaitFinish(request);
    await request.connection.send(primaryHello(request, primaryIdentity.public, await wrapKey(primaryEphemeral.public, normalized)));
    const finish = await finished;

    const ephemeralShared = agree(primaryEphemeral.private, companionEphemeral);
    const bundle = ephemeralShared && openKeyBundle(getBinaryNodeChildBuffer(finish, 'link_code_pairing_wrapped_key_bundle'), ephemeralShared);
    if (!ephemeralShared || !bundle) throw new WaSimError('wrong_pairing_code', 403, `the code entered for ${phone} is not the one the companion shows`);
    const companionIdentityKey = bundle.subarray(0, 32);
    if (!companionIdentityKey.equals(Buffer.from(getBinaryNodeChildBuffer(finish, 'companion_identity_public') ?? []))) {
      throw new Error('companion_finish names another identity key than its encrypted bundle');
    }
    const identityShared = Curve.sharedKey(primaryIdentity.private, companionIdentityKey);
    const advSecret = hkdf(Buffer.concat([ephemeralShared, Buffer.from(identityShared), bundle.subarray(64, 96)]), 32, { info: 'adv_secret' });
    this.byPhone.delete(phone);
    return { connection: request.connection, phone, primaryIdentity, companionIdentityKey, advSecret: Buffer.from(advSecret) };
  }

  forget(connection: SimConnection): void {
    for (const [phone, request] of this.byPhone) if (request.connection === connection) this.byPhone.delete(phone);
  }

  private hello(connection: SimConnection, iq: BinaryNode, reg: BinaryNode): BinaryNode {
    const phone = jidDecode(reg.attrs.jid)?.user;
    const wrapped = getBinaryNodeChildBuffer(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub');
    if (!phone || !wrapped || wrapped.length !== 80) {
      throw new Error(`malformed companion_hello (jid ${reg.attrs.jid}, wrapped key of ${wrapped?.length ?? 0} bytes)`);
    }
    const ref = randomBytes(32);
    this.byPhone.set(phone, { connection, phone, ref, wrappedCompanionEphemeral: Buffer.from(wrapped) });
    return iqResult(iq, [
      { tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: ref }] },
    ]);
  }

  private awaitFinish(request: CodeRequest): Promise<BinaryNode> {
    return new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        request.awaitFinish = undefined;
        reject(new Error(`companion of ${request.phone} sent no companion_finish within ${this.replyTimeoutMs} ms`));
      }, this.replyTimeoutMs);
      request.awaitFinish = (finish) => {
        clearTimeout(timer);
        request.awaitFinish = undefined;
        resolve(finish);
      };
    });
  }
}

/** The notification that carries the phone's half of the exchange to the companion. */
function primaryHello(request: CodeRequest, primaryIdentityKey: Uint8Array, wrappedPrimaryEphemeral: Buffer): BinaryNode {
  return {
    tag: 'notification',
    attrs: {
      from: S_WHATSAPP_NET,
      type: 'link_code_companion_reg',
      id: request.connection.generateId(),
      t: String(Math.floor(Date.now() / 1000)),
    },
    content: [
      {
        tag: 'link_code_companion_reg',
        attrs: { stage: 'primary_hello' },
        content: [
          { tag: 'link_code_pairing_ref', attrs: {}, content: request.ref },
          { tag: 'primary_identity_pub', attrs: {}, content: primaryIdentityKey },
          { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedPrimaryEphemeral },
        ],
      },
    ],
  };
}

/** A wrong code can unwrap to a point x25519 refuses; that is the same wrong code. */
function agree(privateKey: Uint8Array, publicKey: Uint8Array): Buffer | undefined {
  try {
    return Buffer.from(Curve.sharedKey(privateKey, publicKey));
  } catch {
    return undefined;
  }
}

async function wrapKey(publicKey: Uint8Array, code: string): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await derivePairingCodeKey(code, salt);
  return Buffer.concat([salt, iv, aesEncryptCTR(publicKey, key, iv)]);
}

/** With a wrong code this yields 32 bytes of noise rather than an error: CTR has no integrity. */
async function unwrapKey(wrapped: Buffer, code: string): Promise<Buffer> {
  const key = await derivePairingCodeKey(code, wrapped.subarray(0, 32));
  return Buffer.from(aesDecryptCTR(wrapped.subarray(48, 80), key, wrapped.subarray(32, 48)));
}

/**
 * `salt(32) ‖ iv(12) ‖ AES-GCM(companion identity ‖ primary identity ‖ random)`; undefined when it does
 * not authenticate, which is how a wrong code surfaces.
 */
function openKeyBundle(wrapped: Uint8Array | undefined, ephemeralShared: Uint8Array): Buffer | undefined {
  if (!wrapped || wrapped.length < 44) return undefined;
  const buffer = Buffer.from(wrapped);
  const key = hkdf(Buffer.from(ephemeralShared), 32, {
    salt: buffer.subarray(0, 32),
    info: 'link_code_pairing_key_bundle_encryption_key',
  });
  try {
    const bundle = Buffer.from(aesDecryptGCM(buffer.subarray(44), key, buffer.subarray(32, 44), Buffer.alloc(0)));
    return bundle.length === 96 ? bundle : undefined;
  } catch {
    return undefined;
  }
}
