import { createHmac } from 'node:crypto';
import { Curve, proto, S_WHATSAPP_NET, WA_ADV_ACCOUNT_SIG_PREFIX, type BinaryNode } from 'baileys';
import type { Account, LinkedDevice } from './accounts';
import { invalidField } from './wa-sim.errors';

const QR_PREFIX = 'https://wa.me/settings/linked_devices#';

/** The fields a phone reads from a companion's QR. */
export interface PairingQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
}

/** Accepts rc14's `https://wa.me/settings/linked_devices#ref,…` and the older bare `ref,…` form. */
export function parsePairingQr(qr: string): PairingQr {
  const body = qr.startsWith(QR_PREFIX) ? qr.slice(QR_PREFIX.length) : qr;
  const [ref, noiseKey, identityKey, advSecret] = body.split(',');
  if (!ref || !noiseKey || !identityKey || !advSecret) {
    throw invalidField('qr', `a pairing QR (ref,noiseKey,identityKey,advSecret), got "${qr.slice(0, 80)}"`);
  }
  return {
    ref,
    noiseKey: Buffer.from(noiseKey, 'base64'),
    identityKey: Buffer.from(identityKey, 'base64'),
    advSecret: Buffer.from(advSecret, 'base64'),
  };
}

/**
 * The `pair-success` iq the server relays once the phone scanned a QR or took a pairing code: the phone
 * signs the companion's identity with its account key and MACs the result with the adv secret (read
 * from the QR, or agreed in the code exchange), which is what Baileys'
 * `configureSuccessfulPairing` verifies.
 */
export function buildPairSuccess(
  id: string,
  account: Account,
  device: LinkedDevice,
  companion: Pick<PairingQr, 'identityKey' | 'advSecret'>,
): BinaryNode {
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: device.device,
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: device.device,
  }).finish();
  const accountSignature = Curve.sign(
    account.accountKeyPair.private,
    Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, deviceDetails, companion.identityKey]),
  );
  const details = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: account.accountKeyPair.public,
    accountSignature,
  }).finish();
  const hmac = createHmac('sha256', companion.advSecret).update(details).digest();
  const deviceIdentity = proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish();
  return {
    tag: 'iq',
    attrs: { from: S_WHATSAPP_NET, type: 'set', id },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          { tag: 'device-identity', attrs: {}, content: deviceIdentity },
          { tag: 'platform', attrs: { name: 'smbi' } },
          {
            tag: 'device',
            attrs: {
              jid: `${account.phone}:${device.device}@s.whatsapp.net`,
              lid: `${account.lid}:${device.device}@lid`,
            },
          },
        ],
      },
    ],
  };
}
