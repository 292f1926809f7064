import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { SessionEvents, type SessionEvent, type SessionEventData, type SessionEventType } from './session-events';

/** One event to add to a session's log, under the lease epoch its writer holds. */
export interface EventToAppend<T extends SessionEventType = SessionEventType> {
  sessionId: string;
  /** The fencing token the writer holds; a bigint as a string. */
  epoch: string;
  type: T;
  data: SessionEventData[T];
}

/**
 * Runs inside the appending transaction right after an event is stored, so what it writes commits or
 * rolls back with the event (the webhook outbox). A hook that throws rolls the transaction back.
 */
export type AppendHook = (manager: EntityManager, event: SessionEvent) => Promise<void>;

/** Appends inside the transaction it was handed to; what it appended is published after that commits. */
export type Append = <T extends SessionEventType>(event: EventToAppend<T>) => Promise<SessionEvent<T> | null>;

interface EventRow {
  id: string;
  type: SessionEventType;
  tenant_id: string;
  session_id: string;
  seq: string;
  occurred_at: Date;
  data: SessionEventData[SessionEventType];
}

const toEvent = <T extends SessionEventType>(row: EventRow): SessionEvent<T> => ({
  id: row.id,
  type: row.type as T,
  tenantId: row.tenant_id,
  sessionId: row.session_id,
  seq: Number(row.seq),
  occurredAt: row.occurred_at.toISOString(),
  data: row.data as SessionEventData[T],
});

/** Rolls a `record` back when its epoch moved on, so the stale writer's work is undone with its event. */
class StaleEpoch extends Error {}

/**
 * Each session's event log (DESIGN "Data flow of one message"). An append bumps `sessions.last_seq` in
 * the caller's transaction, fenced on the lease epoch: the row lock orders concurrent appenders, so the
 * sequence has no gap, and it lives in the session row, so it carries on from the last committed event
 * when another replica takes the session over. A writer whose epoch moved on appends nothing. Events are
 * published to `SessionEvents` only after their transaction commits, so a subscriber never sees an event
 * the log does not hold. Retention: every event is kept until its session is deleted.
 */
@Injectable()
export class EventLog {
  private readonly hooks: AppendHook[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: SessionEvents,
  ) {}

  /**
   * Appends one event inside `manager`'s transaction. The caller publishes it after commit (`transact`
   * and `record` do that for it).
   * @returns the stored event, or null when the session's epoch is no longer `epoch` (or it is gone)
   */
  async append<T extends SessionEventType>(manager: EntityManager, event: EventToAppend<T>): Promise<SessionEvent<T> | null> {
    // A CTE so the driver answers the returned rows, as for any SELECT.
    const [row]: EventRow[] = await manager.query(
      `WITH next AS (
         UPDATE sessions SET last_seq = last_seq + 1 WHERE id = $1 AND lease_epoch = $2 RETURNING id, last_seq, tenant_id)
       INSERT INTO session_events (session_id, seq, id, tenant_id, type, data)
         SELECT next.id, next.last_seq, $3, next.tenant_id, $4, $5::jsonb FROM next
       RETURNING id, type, tenant_id, session_id, seq, occurred_at, data`,
      [event.sessionId, event.epoch, randomUUID(), event.type, JSON.stringify(event.data)],
    );
    if (!row) return null;
    const stored = toEvent<T>(row);
    for (const hook of this.hooks) await hook(manager, stored);
    return stored;
  }

  /**
   * Registers `hook` to run in every append's transaction after the event is stored (libs that must
   * write with the event register here, so this lib needs not know them).
   * @returns a function that unregisters it
   */
  onAppended(hook: AppendHook): () => void {
    this.hooks.push(hook);
    return () => void this.hooks.splice(this.hooks.indexOf(hook) >>> 0, 1);
  }

  /**
   * Runs `work` in one transaction with an `append` bound to it, then publishes what it appended, in
   * order, once the transaction committed. Nothing is published when it rolls back.
   */
  async transact<R>(work: (manager: EntityManager, append: Append) => Promise<R>): Promise<R> {
    const appended: SessionEvent[] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      appended.length = 0;
      const append: Append = async (event) => {
        const stored = await this.append(manager, event);
        if (stored) appended.push(stored);
        return stored;
      };
      return work(manager, append);
    });
    for (const event of appended) this.events.publish(event);
    return result;
  }

  /**
   * Runs `work` and appends one event in the same transaction, publishing it after commit. When the
   * epoch moved on, the whole transaction (work included) rolls back.
   * @returns the stored event, or null when `epoch` is no longer the session's
   */
  async record<T extends SessionEventType>(
    sessionId: string,
    epoch: string,
    type: T,
    data: SessionEventData[T],
    work?: (manager: EntityManager) => Promise<void>,
  ): Promise<SessionEvent<T> | null> {
    try {
      return await this.transact(async (manager, append) => {
        await work?.(manager);
        const stored = await append({ sessionId, epoch, type, data });
        if (!stored) throw new StaleEpoch();
        return stored;
      });
    } catch (error) {
      if (error instanceof StaleEpoch) return null;
      throw error;
    }
  }

  /** Up to `limit` events of the tenant's session after `afterSeq`, oldest first. */
  async replay(tenantId: string, sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT id, type, tenant_id, session_id, seq, occurred_at, data FROM session_events
       WHERE session_id = $1 AND tenant_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [sessionId, tenantId, afterSeq, limit],
    );
    return rows.map((row) => toEvent(row));
  }
}
