import type { SessionView } from './session.view';

/** How long a snapshot answers for the session. @default 250 */
export const SNAPSHOT_TTL_MS = 250;
/** Snapshots kept at most; past it the map starts over, so a flood of names cannot grow it. */
const SNAPSHOT_LIMIT = 10_000;

interface Snapshot {
  session: SessionView;
  expiresAt: number;
}

/**
 * Sessions as read a moment ago, by tenant and id or name, for a caller that may act on a slightly old
 * state: the send route reads its session on every request, and that read was a third of its database
 * work. A snapshot is at most `ttlMs` old. What this replica changes through SessionsService drops the
 * session's snapshots at once, and a read that raced with such a change is not kept; a change made
 * elsewhere (another replica, the engine) is seen within `ttlMs`. Only found sessions are kept, so a
 * session created a moment ago is never "not found" here.
 */
export class SessionSnapshots {
  private readonly snapshots = new Map<string, Snapshot>();
  /** Bumped by every change, so a read that began before one is not kept. */
  private changes = 0;

  constructor(
    private readonly ttlMs = SNAPSHOT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The session from a snapshot younger than the TTL, else from `read`, kept for the next caller. */
  async get(tenantId: string, idOrName: string, read: () => Promise<SessionView>): Promise<SessionView> {
    const key = `${tenantId}\u0000${idOrName}`;
    const kept = this.snapshots.get(key);
    if (kept && kept.expiresAt > this.now()) return kept.session;
    const changesBefore = this.changes;
    const session = await read();
    if (this.changes === changesBefore) {
      if (this.snapshots.size >= SNAPSHOT_LIMIT) this.snapshots.clear();
      this.snapshots.set(key, { session, expiresAt: this.now() + this.ttlMs });
    }
    return session;
  }

  /** Drops what is kept of a session (by its id) and of any session of the tenant under `name`. */
  forget(tenantId: string, sessionId?: string, name?: string): void {
    this.changes++;
    for (const [key, kept] of this.snapshots) {
      if (kept.session.id === sessionId || (name !== undefined && key === `${tenantId}\u0000${name}`)) this.snapshots.delete(key);
    }
  }
}
