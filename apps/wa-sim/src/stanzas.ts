import { getBinaryNodeChild, S_WHATSAPP_NET, type BinaryNode } from 'baileys';

/** Node shapes the sim sends; kept apart from routing so each reads like the wire format. */

export function iqResult(request: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return { tag: 'iq', attrs: { from: S_WHATSAPP_NET, type: 'result', id: request.attrs.id }, content };
}

/** Each ref is one QR the companion shows in turn; Baileys gives up (408) when they run out. */
export function pairDevice(id: string, refs: string[]): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: S_WHATSAPP_NET, type: 'set', id, xmlns: 'md' },
    content: [
      {
        tag: 'pair-device',
        attrs: {},
        content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref, 'utf-8') })),
      },
    ],
  };
}

/** 515 asks a freshly paired companion to reconnect, this time as a login. */
export function restartRequired(): BinaryNode {
  return { tag: 'stream:error', attrs: { code: '515' } };
}

export function loginSuccess(lid: string, now = new Date()): BinaryNode {
  return {
    tag: 'success',
    attrs: { t: String(Math.floor(now.getTime() / 1000)), props: '1', lid, location: 'sim' },
  };
}

/** A `failure` with a reason is how WhatsApp refuses a login; 401 means the device is not linked. */
export function loginFailure(reason: number): BinaryNode {
  return { tag: 'failure', attrs: { reason: String(reason) } };
}

/** The first child's tag: how WhatsApp names what an iq is about (`count`, `list`, `digest`, …). */
export function firstChildTag(node: BinaryNode): string | undefined {
  return Array.isArray(node.content) ? node.content[0]?.tag : undefined;
}

/** Number of `<key>` entries in a pre-key upload (`iq xmlns=encrypt` → `list`). */
export function uploadedPreKeyCount(node: BinaryNode): number {
  const list = getBinaryNodeChild(node, 'list');
  return Array.isArray(list?.content) ? list.content.length : 0;
}

/**
 * Sent to the older socket when the same account logs in elsewhere. Without a `code` attribute rc14
 * maps the `conflict` child to DisconnectReason.connectionReplaced (440).
 */
export function connectionReplaced(): BinaryNode {
  return { tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] };
}

/**
 * Sent to a live device the phone unlinked. rc14 takes the status from the `code` attribute (401,
 * loggedOut) before looking at the child.
 */
export function deviceRemoved(): BinaryNode {
  return { tag: 'stream:error', attrs: { code: '401' }, content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }] };
}

/**
 * Tells a client that logged in that nothing more waited for it offline. Baileys buffers every event
 * from login until this arrives (or 30 s pass), merging a message's status updates into the last one.
 */
export function offlineDelivered(count: number): BinaryNode {
  return { tag: 'ib', attrs: {}, content: [{ tag: 'offline', attrs: { count: String(count) } }] };
}

/** How WhatsApp ends a connection it refuses or drops: Baileys closes with `code` as the disconnect reason. */
export function streamError(code: number): BinaryNode {
  return { tag: 'stream:error', attrs: { code: String(code) } };
}
