import { getBinaryNodeChild, getBinaryNodeChildren, jidDecode, type BinaryNode } from 'baileys';
import { iqResult } from './stanzas';
import { keyBundle, type VirtualPhones } from './virtual-phones';

/**
 * The iqs a client asks before it sends to someone: `usync` for the recipient's devices and LID, then
 * `encrypt`/`key` for pre-key bundles of devices it has no Signal session with.
 * @returns the answer, or undefined when the iq is not one of these
 */
export async function answerRecipientIq(iq: BinaryNode, phones: VirtualPhones): Promise<BinaryNode | undefined> {
  if (iq.attrs.type !== 'get') return undefined;
  if (iq.attrs.xmlns === 'usync') return answerUsync(iq, phones);
  const key = iq.attrs.xmlns === 'encrypt' ? getBinaryNodeChild(iq, 'key') : undefined;
  if (key) return answerKeyFetch(iq, key, phones);
  return undefined;
}

/**
 * Every number is on WhatsApp with one device, its phone (device 0). rc14 asks with the `devices` and
 * `lid` protocols before a send and cannot send without a LID: it fetches keys by LID only.
 */
function answerUsync(iq: BinaryNode, phones: VirtualPhones): BinaryNode {
  const usync = getBinaryNodeChild(iq, 'usync');
  const query = getBinaryNodeChild(usync, 'query');
  const asked = new Set(Array.isArray(query?.content) ? query.content.map((protocol) => protocol.tag) : []);
  const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user').flatMap((user) => {
    const jid = user.attrs.jid ?? phoneJid(getBinaryNodeChild(user, 'contact')?.content);
    const decoded = jid ? jidDecode(jid) : undefined;
    const phone = decoded ? phones.resolve(decoded.user, decoded.server) : undefined;
    if (!jid || !phone) return [];
    const content: BinaryNode[] = [];
    if (asked.has('devices')) {
      content.push({
        tag: 'devices',
        attrs: {},
        content: [{ tag: 'device-list', attrs: {}, content: [{ tag: 'device', attrs: { id: '0' } }] }],
      });
    }
    if (asked.has('lid') && decoded?.server === 's.whatsapp.net') content.push({ tag: 'lid', attrs: { val: `${phone.lid}@lid` } });
    if (asked.has('contact')) content.push({ tag: 'contact', attrs: { type: 'in' } });
    return [{ tag: 'user', attrs: { jid }, content }];
  });
  return iqResult(iq, [
    {
      tag: 'usync',
      attrs: { sid: usync?.attrs.sid ?? '', mode: usync?.attrs.mode ?? 'query', context: usync?.attrs.context ?? 'interactive' },
      content: [{ tag: 'list', attrs: {}, content: users }],
    },
  ]);
}

/** A bundle for each device 0 asked for; other devices do not exist, and are left out. */
async function answerKeyFetch(iq: BinaryNode, key: BinaryNode, phones: VirtualPhones): Promise<BinaryNode> {
  const users: BinaryNode[] = [];
  for (const user of getBinaryNodeChildren(key, 'user')) {
    const decoded = jidDecode(user.attrs.jid);
    const phone = decoded && !decoded.device ? phones.resolve(decoded.user, decoded.server) : undefined;
    if (phone) users.push(await keyBundle(phone, user.attrs.jid!));
  }
  return iqResult(iq, [{ tag: 'list', attrs: {}, content: users }]);
}

/** A contact lookup by number (`+1 555…`) names the user by its digits. */
function phoneJid(content: BinaryNode['content']): string | undefined {
  const text = typeof content === 'string' ? content : content instanceof Uint8Array ? Buffer.from(content).toString() : '';
  const digits = text.replace(/\D/g, '');
  return digits ? `${digits}@s.whatsapp.net` : undefined;
}
