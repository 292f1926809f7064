import { getBinaryNodeChild, type BinaryNode } from 'baileys';
import type { LinkedDevice } from './accounts';
import { foldKeyUpload } from './key-bundle';
import { firstChildTag, iqResult, uploadedPreKeyCount } from './stanzas';

/**
 * The answer to an iq the client sent. Everything but the pre-key (`encrypt`) namespace gets a bare
 * result, which is all Baileys needs to carry on; `device` is undefined while registering.
 */
export function answerIq(iq: BinaryNode, device: LinkedDevice | undefined): BinaryNode {
  if (iq.attrs.xmlns === 'privacy' && iq.attrs.type === 'get') return privacySettings(iq);
  if (iq.attrs.xmlns !== 'encrypt') return iqResult(iq);
  switch (firstChildTag(iq)) {
    case 'count':
      return iqResult(iq, [{ tag: 'count', attrs: { value: String(device?.preKeyCount ?? 0) } }]);
    case 'digest':
      // Baileys only checks that a digest is present; without one it re-uploads every login.
      return iqResult(iq, [{ tag: 'digest', attrs: {} }]);
    default:
      if (device && getBinaryNodeChild(iq, 'list')) device.preKeyCount += uploadedPreKeyCount(iq);
      if (device) device.keyBundle = foldKeyUpload(device.keyBundle, iq);
      return iqResult(iq);
  }
}

/**
 * Every account shares read receipts with everyone, WhatsApp's default: Baileys reads this before it
 * marks messages read, and sends `read` receipts (not `read-self`) only when it says `all`.
 */
function privacySettings(iq: BinaryNode): BinaryNode {
  const categories: Record<string, string> = { readreceipts: 'all', last: 'all', online: 'all', profile: 'all', status: 'all', groupadd: 'all' };
  return iqResult(iq, [
    { tag: 'privacy', attrs: {}, content: Object.entries(categories).map(([name, value]) => ({ tag: 'category', attrs: { name, value } })) },
  ]);
}
