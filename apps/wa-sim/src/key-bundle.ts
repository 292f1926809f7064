import { getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren, getBinaryNodeChildUInt, type BinaryNode } from 'baileys';

export interface SignedPreKey {
  keyId: number;
  /** 32 bytes, as uploaded; Signal wants the 33-byte form with the 0x05 type prefix. */
  publicKey: Buffer;
  signature: Buffer;
}

export interface OneTimePreKey {
  keyId: number;
  publicKey: Buffer;
}

/**
 * What a device uploaded so that others can open Signal sessions to it while it is offline, as WhatsApp
 * keeps it: identity, registration id, signed pre-key, and one-time pre-keys handed out once each.
 */
export interface DeviceKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: SignedPreKey;
  preKeys: OneTimePreKey[];
}

/**
 * Folds an `iq xmlns=encrypt` from the device into its bundle: a pre-key upload (`registration`,
 * `identity`, `list`, `skey`) adds one-time keys and replaces the rest; a `rotate` replaces the signed
 * pre-key. Anything else leaves the bundle as it was.
 */
export function foldKeyUpload(bundle: DeviceKeyBundle | undefined, iq: BinaryNode): DeviceKeyBundle | undefined {
  const rotate = getBinaryNodeChild(iq, 'rotate');
  if (rotate) {
    const signedPreKey = readSignedPreKey(getBinaryNodeChild(rotate, 'skey'));
    return bundle && signedPreKey ? { ...bundle, signedPreKey } : bundle;
  }
  const list = getBinaryNodeChild(iq, 'list');
  const identity = getBinaryNodeChildBuffer(iq, 'identity');
  const registrationId = getBinaryNodeChildUInt(iq, 'registration', 4);
  const signedPreKey = readSignedPreKey(getBinaryNodeChild(iq, 'skey'));
  if (!list || !identity || registrationId === undefined || !signedPreKey) return bundle;
  const uploaded = getBinaryNodeChildren(list, 'key').flatMap((key) => {
    const keyId = getBinaryNodeChildUInt(key, 'id', 3);
    const publicKey = getBinaryNodeChildBuffer(key, 'value');
    return keyId === undefined || !publicKey ? [] : [{ keyId, publicKey: Buffer.from(publicKey) }];
  });
  const known = new Set(uploaded.map((key) => key.keyId));
  return {
    registrationId,
    identityKey: Buffer.from(identity),
    signedPreKey,
    preKeys: [...(bundle?.preKeys ?? []).filter((key) => !known.has(key.keyId)), ...uploaded],
  };
}

function readSignedPreKey(skey: BinaryNode | undefined): SignedPreKey | undefined {
  if (!skey) return undefined;
  const keyId = getBinaryNodeChildUInt(skey, 'id', 3);
  const publicKey = getBinaryNodeChildBuffer(skey, 'value');
  const signature = getBinaryNodeChildBuffer(skey, 'signature');
  if (keyId === undefined || !publicKey || !signature) return undefined;
  return { keyId, publicKey: Buffer.from(publicKey), signature: Buffer.from(signature) };
}
