import { getBinaryNodeChild, type BinaryNode } from 'baileys';
import type { LinkedDevice } from './accounts';
import { foldKeyUpload } from './key-bundle';
import { firstChildTag, iqResult, uploadedPreKeyCount } from './stanzas';

/**
 * The answer to an iq the client sent. Everything but the pre-key (`encrypt`) namespace gets a bare
 * result, which is all Baileys needs to carry on; `device` is undefined while registering.
 */
export function answerIq(iq: BinaryNode, device: LinkedDevice | undefined): BinaryNode {
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
