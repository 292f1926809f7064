import type { MessageStatusName } from '@wafleet/sessions';

/** Statuses an outgoing message moves through, in order; `failed` can only follow `pending` or `sent`. */
export const FORWARD_STATUSES = ['sent', 'delivered', 'read', 'played'] as const;
export type ForwardStatus = (typeof FORWARD_STATUSES)[number];

/**
 * How far a status is along; an update applies only when it goes further. `failed` ranks with
 * `delivered`, so a late failure never undoes a delivery, and nothing ranks above `failed` once stored
 * (see {@link RANK_SQL}).
 */
const RANK: Record<Exclude<MessageStatusName, 'received'>, number> = { pending: 0, sent: 1, delivered: 2, read: 3, played: 4, failed: 2 };

export function rankOf(status: MessageStatusName): number {
  return status === 'received' ? 0 : RANK[status];
}

/** The stored status's rank in SQL; a stored `failed` (or `received`) outranks every update. */
export const RANK_SQL = `CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'played' THEN 4 ELSE 9 END`;

/**
 * The error code of a pending message withdrawn before it was sent (its campaign was cancelled). The
 * owner may have been sending it at that moment: when the send is then recorded, `sent` replaces this
 * failure, because the message did go out.
 */
export const WITHDRAWN_CODE = 'campaign_cancelled';

/**
 * The error code of a message that was still waiting to be sent when the account it was accepted for
 * was unlinked (a logout, or the phone removed the device): it is never sent from another link. As for
 * WITHDRAWN_CODE, `sent` replaces this failure when the send under way at the logout went out.
 */
export const LOGGED_OUT_CODE = 'session_logged_out';

/** Whether a message at `status` has reached `wanted` (or can no longer: it failed). */
export function hasReached(status: MessageStatusName, wanted: ForwardStatus): boolean {
  return status === 'failed' || (status !== 'received' && rankOf(status) >= rankOf(wanted));
}

/** The Rendezvous key a waiter for `wanted` on message `id` listens on. */
export const statusKey = (id: string, wanted: ForwardStatus): string => `message:${id}:${wanted}`;

/** The keys a message reaching `status` resolves: every forward status up to it, or all of them when it failed. */
export function keysResolvedBy(id: string, status: MessageStatusName): string[] {
  if (status === 'failed') return FORWARD_STATUSES.map((wanted) => statusKey(id, wanted));
  return FORWARD_STATUSES.filter((wanted) => rankOf(wanted) <= rankOf(status)).map((wanted) => statusKey(id, wanted));
}
