import { Curve, proto, WA_CERT_DETAILS, type KeyPair } from 'baileys';

/** The sim's long-lived noise identity: its static key and the certificate chain vouching for it. */
export interface ServerIdentity {
  staticKeyPair: KeyPair;
  /** The encoded `proto.CertChain` sent (encrypted) in the server hello. */
  certChain: Uint8Array;
  /** The key that signs the intermediate certificate; a client must trust it in place of WhatsApp's. */
  rootPublicKey: Buffer;
}

const CERT_LIFETIME_S = 365 * 24 * 3600;

/**
 * Builds a root → intermediate → leaf chain like WhatsApp's. rc14 accepts any intermediate signature
 * (its `Curve.verify` never sees libsignal's `false`), but signing with a real root key keeps the sim
 * valid for a client that checks, once it trusts `rootPublicKey`.
 */
export function createServerIdentity(now = new Date()): ServerIdentity {
  const root = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const staticKeyPair = Curve.generateKeyPair();
  const notBefore = Math.floor(now.getTime() / 1000);
  const notAfter = notBefore + CERT_LIFETIME_S;
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: WA_CERT_DETAILS.SERIAL,
    key: intermediate.public,
    notBefore,
    notAfter,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: staticKeyPair.public,
    notBefore,
    notAfter,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: sign(intermediate.private, leafDetails) },
  }).finish();
  return { staticKeyPair, certChain, rootPublicKey: Buffer.from(root.public) };
}

function sign(privateKey: Uint8Array, message: Uint8Array): Buffer {
  return Buffer.from(Curve.sign(privateKey, Buffer.from(message)));
}
