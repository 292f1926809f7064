/**
 * The handoff log: one `session_handoffs` row each time a claim moves a session to a new owner, written
 * by the claim statement itself (one round trip) from the lease it found. A re-claim by the live owner
 * is no handoff and leaves no row.
 */

/** Why a session changed hands: never owned before, given up by its owner, or its lease ran out. */
export type HandoffReason = 'claimed' | 'released' | 'lapsed';

export const HANDOFF_REASONS: readonly HandoffReason[] = ['claimed', 'released', 'lapsed'];

/** Handoffs kept per session; older ones are pruned by the claim that writes a new one. */
export const HANDOFFS_KEPT_PER_SESSION = 20;

/**
 * CTE `previous_lease`: the lease as the claim finds it, locked, so the reason is read from the very row
 * the claim then updates. `$1` is the session id. The claim's UPDATE must depend on it
 * (`AND EXISTS (SELECT FROM previous_lease)`), which makes it run, and lock, first.
 */
export const PREVIOUS_LEASE = `previous_lease AS (
  SELECT owner_instance_id AS owner, lease_expires_at AS expires_at, lease_epoch AS epoch
  FROM sessions WHERE id = $1 FOR UPDATE)`;

/**
 * CTEs `handoff` (the reason recorded, or no row) and `pruned_handoffs`, after a CTE `claimed` that
 * returns the new `lease_epoch`. `$1` is the session id, `$2` the claiming instance. A released lease
 * no longer names its owner, so the handoff names the last one the log knows.
 */
export const RECORD_HANDOFF = `handoff AS (
  INSERT INTO session_handoffs (session_id, from_instance_id, to_instance_id, epoch, reason)
  SELECT $1,
    COALESCE(p.owner, (SELECT h.to_instance_id FROM session_handoffs h WHERE h.session_id = $1 ORDER BY h.at DESC, h.id DESC LIMIT 1)),
    $2, c.lease_epoch,
    CASE WHEN p.owner IS NULL AND p.epoch = 0 THEN 'claimed'
         WHEN p.owner IS NULL OR p.expires_at IS NULL THEN 'released'
         ELSE 'lapsed' END
  FROM claimed c CROSS JOIN previous_lease p
  WHERE p.owner IS DISTINCT FROM $2 OR p.expires_at IS NULL OR p.expires_at < now()
  RETURNING reason),
pruned_handoffs AS (
  DELETE FROM session_handoffs
  WHERE session_id = $1 AND EXISTS (SELECT FROM handoff)
    AND id NOT IN (SELECT id FROM session_handoffs WHERE session_id = $1 ORDER BY at DESC, id DESC LIMIT ${HANDOFFS_KEPT_PER_SESSION - 1}))`;
