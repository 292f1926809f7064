import { getNextPreKeysNode, initAuthCreds, signedKeyPair, xmppSignedPreKey, type SignalKeyStore } from 'baileys';
import { foldKeyUpload } from './key-bundle';

/** The upload Baileys itself sends after login, from a fresh set of creds. */
async function upload(count: number, creds = initAuthCreds(), saved = new Map<string, unknown>()) {
  const store: SignalKeyStore = {
    get: async (type, ids) => Object.fromEntries(ids.map((id) => [id, saved.get(`${type}/${id}`)])) as never,
    set: async (data) => {
      for (const [type, values] of Object.entries(data)) {
        for (const [id, value] of Object.entries(values ?? {})) saved.set(`${type}/${id}`, value);
      }
    },
  };
  const { update, node } = await getNextPreKeysNode({ creds, keys: store }, count);
  Object.assign(creds, update);
  return { creds, node };
}

describe('foldKeyUpload', () => {
  it('reads identity, registration id, signed pre-key and every one-time pre-key of an upload', async () => {
    const { creds, node } = await upload(3);

    const bundle = foldKeyUpload(undefined, node);

    expect(bundle).toEqual({
      registrationId: creds.registrationId,
      identityKey: Buffer.from(creds.signedIdentityKey.public),
      signedPreKey: {
        keyId: creds.signedPreKey.keyId,
        publicKey: Buffer.from(creds.signedPreKey.keyPair.public),
        signature: Buffer.from(creds.signedPreKey.signature),
      },
      preKeys: [1, 2, 3].map((keyId) => ({ keyId, publicKey: expect.any(Buffer) })),
    });
  });

  it('adds the keys of a later upload to those not yet handed out', async () => {
    const saved = new Map<string, unknown>();
    const first = await upload(2, initAuthCreds(), saved);
    const second = await upload(2, first.creds, saved);

    const bundle = foldKeyUpload(foldKeyUpload(undefined, first.node), second.node);

    expect(bundle?.preKeys.map((key) => key.keyId)).toEqual([1, 2, 3, 4]);
  });

  it('replaces the signed pre-key on a rotate and ignores iqs that carry no keys', async () => {
    const { creds, node } = await upload(1);
    const bundle = foldKeyUpload(undefined, node)!;
    const rotated = signedKeyPair(creds.signedIdentityKey, 2);
    const rotate = { tag: 'iq', attrs: { xmlns: 'encrypt', type: 'set' }, content: [{ tag: 'rotate', attrs: {}, content: [xmppSignedPreKey(rotated)] }] };
    const count = { tag: 'iq', attrs: { xmlns: 'encrypt', type: 'get' }, content: [{ tag: 'count', attrs: {} }] };

    expect(foldKeyUpload(bundle, rotate)?.signedPreKey).toEqual({
      keyId: 2,
      publicKey: Buffer.from(rotated.keyPair.public),
      signature: Buffer.from(rotated.signature),
    });
    expect(foldKeyUpload(bundle, count)).toBe(bundle);
    expect(foldKeyUpload(undefined, rotate)).toBeUndefined();
  });
});
