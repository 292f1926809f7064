import {
  addTransactionCapability,
  Curve,
  DEFAULT_CONNECTION_CONFIG,
  encodeBigEndian,
  initAuthCreds,
  KEY_BUNDLE_TYPE,
  proto,
  unpadRandomMax16,
  type AuthenticationCreds,
  type BinaryNode,
  type SignalKeyStore,
  type SignalRepositoryWithLIDStore,
} from 'baileys';
import pino from 'pino';
import { randomLid } from './accounts';

/** How a recipient's phone misbehaves, set through the control API. */
export type RecipientFailure =
  /** The server refuses messages for it: the `ack` carries `error` with this code and no receipt follows. */
  | { mode: 'error'; code: number }
  /** The server takes messages but the phone never confirms them: an `ack`, and no receipt. */
  | { mode: 'offline' };

/** A "typing…" indicator a client sent this phone: `recording` is composing with `media=audio`. */
export interface Chatstate {
  /** The sending account's phone number. */
  from: string;
  state: 'composing' | 'recording' | 'paused';
  /** ms since the epoch */
  at: number;
}

/**
 * The phone (device 0) of a number someone sends to: its Signal identity, signed pre-key and one-time
 * pre-keys, and a Signal repository holding the sessions senders open to it, so the sim can read what
 * it is sent.
 */
export interface VirtualPhone {
  phone: string;
  lid: string;
  creds: AuthenticationCreds;
  repository: SignalRepositoryWithLIDStore;
  keys: SignalKeyStore;
  nextPreKeyId: number;
  failure?: RecipientFailure;
  /** Typing indicators sent to it, oldest first. */
  chatstates: Chatstate[];
  /** Decryptions run one at a time: ratchet state is read and written per message. */
  decrypting: Promise<unknown>;
}

const SILENT = pino({ level: 'silent' });

/**
 * Every number the sim has been asked about, created on first use: a paired account's phone keeps
 * the account's LID, any other number gets a LID of its own.
 */
export class VirtualPhones {
  private readonly byPhone = new Map<string, VirtualPhone>();
  private readonly byLid = new Map<string, VirtualPhone>();

  constructor(private readonly accountLid: (phone: string) => string | undefined) {}

  ensure(phone: string): VirtualPhone {
    let found = this.byPhone.get(phone);
    if (!found) {
      found = createPhone(phone, this.accountLid(phone) ?? randomLid());
      this.byPhone.set(phone, found);
      this.byLid.set(found.lid, found);
    }
    return found;
  }

  find(phone: string): VirtualPhone | undefined {
    return this.byPhone.get(phone);
  }

  findByLid(lid: string): VirtualPhone | undefined {
    return this.byLid.get(lid);
  }

  /** The phone a user jid names, by number (`…@s.whatsapp.net`) or by LID (`…@lid`); undefined for any other server. */
  resolve(user: string, server: string | undefined): VirtualPhone | undefined {
    if (server === 's.whatsapp.net') return this.ensure(user);
    if (server === 'lid') return this.findByLid(user);
    return undefined;
  }
}

function createPhone(phone: string, lid: string): VirtualPhone {
  const store = new Map<string, unknown>();
  const plain: SignalKeyStore = {
    get: async (type, ids) =>
      Object.fromEntries(ids.map((id) => [id, store.get(`${type}/${id}`)]).filter(([, v]) => v !== undefined)) as never,
    set: async (data) => {
      for (const [type, values] of Object.entries(data)) {
        for (const [id, value] of Object.entries(values ?? {})) {
          if (value === null || value === undefined) store.delete(`${type}/${id}`);
          else store.set(`${type}/${id}`, value);
        }
      }
    },
  };
  const keys = addTransactionCapability(plain, SILENT, { maxCommitRetries: 1, delayBetweenTriesMs: 0 });
  const creds = initAuthCreds();
  const repository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds, keys }, SILENT);
  return { phone, lid, creds, repository, keys, nextPreKeyId: 1, chatstates: [], decrypting: Promise.resolve() };
}

/**
 * The `user` node of an `iq xmlns=encrypt` key fetch: what `parseAndInjectE2ESessions` reads. Each
 * fetch hands out a fresh one-time pre-key, as the server does with the ones a phone uploaded.
 */
export async function keyBundle(target: VirtualPhone, jid: string): Promise<BinaryNode> {
  const preKeyId = target.nextPreKeyId++;
  const preKey = Curve.generateKeyPair();
  await target.keys.set({ 'pre-key': { [preKeyId]: preKey } });
  const { signedPreKey, signedIdentityKey, registrationId } = target.creds;
  return {
    tag: 'user',
    attrs: { jid },
    content: [
      { tag: 'registration', attrs: {}, content: encodeBigEndian(registrationId, 4) },
      { tag: 'type', attrs: {}, content: KEY_BUNDLE_TYPE },
      { tag: 'identity', attrs: {}, content: signedIdentityKey.public },
      {
        tag: 'skey',
        attrs: {},
        content: [
          { tag: 'id', attrs: {}, content: encodeBigEndian(signedPreKey.keyId, 3) },
          { tag: 'value', attrs: {}, content: signedPreKey.keyPair.public },
          { tag: 'signature', attrs: {}, content: signedPreKey.signature },
        ],
      },
      {
        tag: 'key',
        attrs: {},
        content: [
          { tag: 'id', attrs: {}, content: encodeBigEndian(preKeyId, 3) },
          { tag: 'value', attrs: {}, content: preKey.public },
        ],
      },
    ],
  };
}

/**
 * What the phone reads from one `enc` addressed to it, or undefined when it cannot decrypt it (a
 * session the sim never saw begin, say). `sender` is the sending device's jid.
 */
export function decryptFor(target: VirtualPhone, sender: string, enc: BinaryNode): Promise<proto.IMessage | undefined> {
  const run = target.decrypting.then(async () => {
    const type = enc.attrs.type as 'pkmsg' | 'msg';
    if ((type !== 'pkmsg' && type !== 'msg') || !(enc.content instanceof Uint8Array)) return undefined;
    const plaintext = await target.repository.decryptMessage({ jid: sender, type, ciphertext: enc.content });
    return proto.Message.decode(unpadRandomMax16(plaintext));
  });
  target.decrypting = run.catch(() => undefined);
  return run.catch(() => undefined);
}
