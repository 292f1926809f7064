import {
  addTransactionCapability,
  DEFAULT_CONNECTION_CONFIG,
  encodeWAMessage,
  generateSignalPubKey,
  initAuthCreds,
  type proto,
  type SignalDataTypeMap,
  type SignalKeyStore,
  type SignalRepositoryWithLIDStore,
} from 'baileys';
import pino from 'pino';
import type { LinkedDevice } from './accounts';

/** What goes into `enc{ v:2, type }`: a pre-key message opens the session, a plain one continues it. */
export interface SealedMessage {
  type: 'pkmsg' | 'msg';
  ciphertext: Buffer;
}

interface SenderPhone {
  repository: SignalRepositoryWithLIDStore;
  /** Device jids this phone has opened a session to. */
  sessions: Set<string>;
}

const silent = pino({ level: 'silent' });

/**
 * The phones that write to the sim's accounts, each with its own Signal identity and sessions, as a
 * real contact's phone has: the first message to a device takes one of its uploaded one-time pre-keys,
 * the rest of that conversation continues the session. A restarted sim forgets them, like a new phone.
 */
export class SenderPhones {
  private readonly byPhone = new Map<string, SenderPhone>();

  /**
   * Encrypts `message` from phone `sender` for `device` of the account at `deviceJid`. `fresh` opens a
   * new session first, as a phone does when the device asks for a message again (a retry receipt): it
   * could not decrypt the first copy, so its side of the old session is of no use.
   */
  async seal(sender: string, deviceJid: string, device: LinkedDevice, message: proto.IMessage, fresh = false): Promise<SealedMessage> {
    const phone = this.phone(sender);
    if (fresh || !phone.sessions.has(deviceJid)) {
      await phone.repository.injectE2ESession({ jid: deviceJid, session: takeSession(device) });
      phone.sessions.add(deviceJid);
    }
    const { type, ciphertext } = await phone.repository.encryptMessage({ jid: deviceJid, data: encodeWAMessage(message) });
    return { type, ciphertext: Buffer.from(ciphertext) };
  }

  private phone(sender: string): SenderPhone {
    let phone = this.byPhone.get(sender);
    if (!phone) {
      const keys = addTransactionCapability(memoryKeyStore(), silent, { maxCommitRetries: 1, delayBetweenTriesMs: 0 });
      phone = { repository: DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: initAuthCreds(), keys }, silent), sessions: new Set() };
      this.byPhone.set(sender, phone);
    }
    return phone;
  }
}

/**
 * The bundle a sender fetches to open a session, with one one-time pre-key that nobody else gets, as
 * WhatsApp hands them out; when they have run out the session opens with the signed pre-key alone.
 */
function takeSession(device: LinkedDevice) {
  const bundle = device.keyBundle;
  if (!bundle) throw new Error(`device ${device.device} has not uploaded its keys`);
  const preKey = bundle.preKeys.shift();
  if (preKey) device.preKeyCount = Math.max(0, device.preKeyCount - 1);
  return {
    registrationId: bundle.registrationId,
    identityKey: generateSignalPubKey(bundle.identityKey),
    signedPreKey: {
      keyId: bundle.signedPreKey.keyId,
      publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey),
      signature: bundle.signedPreKey.signature,
    },
    preKey: preKey && { keyId: preKey.keyId, publicKey: generateSignalPubKey(preKey.publicKey) },
  };
}

function memoryKeyStore(): SignalKeyStore {
  const store = new Map<string, unknown>();
  return {
    get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) =>
      Object.fromEntries(ids.flatMap((id) => (store.has(`${type}/${id}`) ? [[id, store.get(`${type}/${id}`)]] : []))) as {
        [id: string]: SignalDataTypeMap[T];
      },
    set: async (data) => {
      for (const [type, values] of Object.entries(data)) {
        for (const [id, value] of Object.entries(values ?? {})) {
          if (value === null || value === undefined) store.delete(`${type}/${id}`);
          else store.set(`${type}/${id}`, value);
        }
      }
    },
  };
}
