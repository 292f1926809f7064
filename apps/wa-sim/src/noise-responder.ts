import { hkdfSync } from 'node:crypto';
import { aesDecryptGCM, aesEncryptGCM, Curve, NOISE_MODE, NOISE_WA_HEADER, proto, sha256, type KeyPair } from 'baileys';
import type { ServerIdentity } from './server-identity';

const IV_LENGTH = 12;
const EMPTY = Buffer.alloc(0);

function counterIv(counter: number): Buffer {
  const iv = Buffer.alloc(IV_LENGTH);
  iv.writeUInt32BE(counter, 8);
  return iv;
}

/** HKDF-SHA256 to 64 bytes, halved: the Noise "mix key" and "split" step as WhatsApp does it. */
function hkdfHalves(ikm: Uint8Array, salt: Uint8Array): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [out.subarray(0, 32), out.subarray(32)];
}

/**
 * After the split each direction has its own key and counter and no AAD; the responder decrypts with
 * the first half (the initiator's write key) and encrypts with the second.
 */
export class TransportCipher {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly encryptKey: Buffer,
    private readonly decryptKey: Buffer,
  ) {}

  encrypt(plaintext: Uint8Array): Buffer {
    return aesEncryptGCM(plaintext, this.encryptKey, counterIv(this.writeCounter++), EMPTY);
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    return aesDecryptGCM(ciphertext, this.decryptKey, counterIv(this.readCounter++), EMPTY);
  }
}

/** What the client told us about itself in `clientFinish`. */
export interface HandshakeResult {
  clientStaticKey: Buffer;
  payload: proto.ClientPayload;
  transport: TransportCipher;
}

/**
 * Server (responder) side of `Noise_XX_25519_AESGCM_SHA256` exactly as Baileys' initiator expects:
 * one shared handshake counter reset on every key mix, the running hash as AAD, ciphertexts hashed in.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();
  private clientEphemeral?: Buffer;

  constructor(private readonly identity: ServerIdentity) {
    const mode = Buffer.from(NOISE_MODE);
    // Baileys hashes the protocol name only when it is not already exactly 32 bytes.
    this.hash = mode.byteLength === 32 ? mode : Buffer.from(sha256(mode));
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  /** Consumes `clientHello` and produces the encoded `serverHello` handshake message. */
  answerHello(frame: Uint8Array): Uint8Array {
    const { clientHello } = proto.HandshakeMessage.decode(frame);
    if (!clientHello?.ephemeral?.length) {
      throw new Error('expected clientHello with an ephemeral key as the first frame');
    }
    const clientEphemeral = Buffer.from(clientHello.ephemeral);
    this.clientEphemeral = clientEphemeral;
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const staticEnc = this.encrypt(this.identity.staticKeyPair.public);
    this.mixIntoKey(Curve.sharedKey(this.identity.staticKeyPair.private, clientEphemeral));
    const payloadEnc = this.encrypt(this.identity.certChain);
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload: payloadEnc },
    }).finish();
  }

  /** Consumes `clientFinish`, authenticates the client's static key and splits into transport keys. */
  finish(frame: Uint8Array): HandshakeResult {
    if (!this.clientEphemeral) throw new Error('clientFinish before clientHello');
    const { clientFinish } = proto.HandshakeMessage.decode(frame);
    if (!clientFinish?.static?.length || !clientFinish.payload?.length) {
      throw new Error('expected clientFinish with static and payload');
    }
    const clientStaticKey = this.decrypt(clientFinish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStaticKey));
    const payload = proto.ClientPayload.decode(this.decrypt(clientFinish.payload));
    const [initiatorWrite, responderWrite] = hkdfHalves(EMPTY, this.salt);
    return { clientStaticKey, payload, transport: new TransportCipher(responderWrite, initiatorWrite) };
  }

  private authenticate(data: Uint8Array): void {
    this.hash = Buffer.from(sha256(Buffer.concat([this.hash, data])));
  }

  private mixIntoKey(ikm: Uint8Array): void {
    [this.salt, this.key] = hkdfHalves(ikm, this.salt);
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ciphertext = aesEncryptGCM(plaintext, this.key, counterIv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const plaintext = aesDecryptGCM(ciphertext, this.key, counterIv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return plaintext;
  }
}
