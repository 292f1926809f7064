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
 * A part of every append's statement, run right after the event is stored: a data-modifying CTE body
 * (`INSERT … SELECT … FROM appended … RETURNING 1`) that reads the stored event from `appended` (`id`,
 * `type`, `tenant_id`, `session_id`, `seq`, `occurred_at`, `data`) and takes no parameters. What it
 * writes commits or rolls back with the event, and costs no round trip of its own (the webhook outbox).
 */
export interface AppendHook {
  sql: string;
  /** Told how many rows the part wrote for the event, once the statement answered (before any commit). */
  written?: (event: SessionEvent, rows: number) => void;
}

/**
 * A change that one statement makes together with the event telling of it (`EventLog.appendChange`).
 * `sql` is the body of a data-modifying CTE named `change` (`UPDATE … FROM fence WHERE … RETURNING …`)
 * that joins `fence`, the session row, locked while the writer's epoch holds, and changes at most one
 * row. `data` is a jsonb expression over `change`: the event's data. Both use `params` as $1, $2, ….
 */
export interface EventChange {
  sql: string;
  data: string;
  params: unknown[];
}

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

/** An append's answer: the stored event, and how many rows each hook wrote. */
type AppendedRow = EventRow & { [hook: `hook_${number}`]: number };

/** The stored event's columns, as `appended` returns them. */
const EVENT_COLUMNS = 'id, type, tenant_id, session_id, seq, occurred_at, data';

const toEvent = <T extends SessionEventType>(row: EventRow): SessionEvent<T> => ({
  id: row.id,
  type: row.type as T,
  tenantId: row.tenant_id,
  sessionId: row.session_id,
  seq: Number(row.seq),
  occurredAt: row.occurred_at.toISOString(),
  data: row.data as SessionEventData[T],
});

/** The hooks' CTEs, `hook_0`, `hook_1`, …, after `appended`. */
const hookParts = (hooks: AppendHook[]): string => hooks.map((hook, i) => `,\n       hook_${i} AS (${hook.sql})`).join('');
/** How many rows each hook's CTE wrote, as columns `hook_0`, `hook_1`, …. */
const hookCounts = (hooks: AppendHook[]): string => hooks.map((_, i) => `, (SELECT count(*) FROM hook_${i})::int AS hook_${i}`).join('');

/** Rolls a `record` back when its epoch moved on, so the stale writer's work is undone with its event. */
class StaleEpoch extends Error {}

/**
 * Each session's event log (DESIGN "Data flow of one message"). An append bumps `sessions.last_seq` in
 * the caller's transaction, fenced on the lease epoch: the row lock orders concurrent appenders, so the
 * sequence has no gap, and it lives in the session row, so it carries on from the last committed event
 * when another replica takes the session over. A writer whose epoch moved on appends nothing. Events are
 * published to `SessionEvents` only after their transaction commits, so a subscriber never sees an event
 * the log does not hold. What other libs write with every event (AppendHook) goes in the append's own
 * statement, and a change with one event can be a single statement (`appendChange`): a round trip to the
 * database is most of what an append costs. Retention: events older than EVENT_RETENTION_DAYS are deleted
 * (`prune`); a replay after a seq older than that starts at the oldest event kept.
 */
@Injectable()
export class EventLog {
  private readonly hooks: AppendHook[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: SessionEvents,
  ) {}

  /**
   * Appends one event inside `manager`'s transaction, with what the hooks write for it, in one statement.
   * The caller publishes it after commit (`transact` and `record` do that for it).
   * @returns the stored event, or null when the session's epoch is no longer `epoch` (or it is gone)
   */
  async append<T extends SessionEventType>(manager: EntityManager, event: EventToAppend<T>): Promise<SessionEvent<T> | null> {
    const hooks = [...this.hooks];
    // CTEs throughout, so the driver answers the returned rows, as for any SELECT.
    const [row]: AppendedRow[] = await manager.query(
      `WITH next AS (
         UPDATE sessions SET last_seq = last_seq + 1 WHERE id = $1 AND lease_epoch = $2 RETURNING id, last_seq, tenant_id),
       appended AS (
         INSERT INTO session_events (session_id, seq, id, tenant_id, type, data)
         SELECT next.id, next.last_seq, $3, next.tenant_id, $4, $5::jsonb FROM next
         RETURNING ${EVENT_COLUMNS})${hookParts(hooks)}
       SELECT appended.*${hookCounts(hooks)} FROM appended`,
      [event.sessionId, event.epoch, randomUUID(), event.type, JSON.stringify(event.data)],
    );
    return row ? this.stored<T>(row, hooks) : null;
  }

  /**
   * Makes `change` and appends the event telling of it in one statement, which needs no transaction of
   * its own: both are written, or (when the epoch is no longer `epoch`, or `change` matched no row)
   * neither is. The event is published once the statement answered.
   * @returns the event and the row `change` returned, or null when nothing was written
   */
  async appendChange<T extends SessionEventType, C extends object>(
    sessionId: string,
    epoch: string,
    type: T,
    change: EventChange,
  ): Promise<{ event: SessionEvent<T>; changed: C } | null> {
    const hooks = [...this.hooks];
    const n = change.params.length;
    const [own, epochAt, idAt, typeAt] = [n + 1, n + 2, n + 3, n + 4];
    const [row]: (AppendedRow & { changed: C })[] = await this.dataSource.query(
      `WITH fence AS (SELECT id FROM sessions WHERE id = $${own} AND lease_epoch = $${epochAt} FOR UPDATE),
       change AS (${change.sql}),
       next AS (
         UPDATE sessions SET last_seq = last_seq + 1
         WHERE id = $${own} AND lease_epoch = $${epochAt} AND EXISTS (SELECT 1 FROM change) RETURNING id, last_seq, tenant_id),
       appended AS (
         INSERT INTO session_events (session_id, seq, id, tenant_id, type, data)
         SELECT next.id, next.last_seq, $${idAt}, next.tenant_id, $${typeAt}, ${change.data} FROM next, change
         RETURNING ${EVENT_COLUMNS})${hookParts(hooks)}
       SELECT to_jsonb(change) AS changed, appended.*${hookCounts(hooks)} FROM appended, change`,
      [...change.params, sessionId, epoch, randomUUID(), type],
    );
    if (!row) return null;
    const event = this.stored<T>(row, hooks);
    this.events.publish(event);
    return { event, changed: row.changed };
  }

  /**
   * Registers `hook` to write in every append's statement after the event is stored (libs that must
   * write with the event register here, so this lib needs not know them).
   * @returns a function that unregisters it
   */
  onAppended(hook: AppendHook): () => void {
    this.hooks.push(hook);
    return () => void this.hooks.splice(this.hooks.indexOf(hook) >>> 0, 1);
  }

  /** The event from an append's answer, after telling each hook how many rows it wrote. */
  private stored<T extends SessionEventType>(row: AppendedRow, hooks: AppendHook[]): SessionEvent<T> {
    const event = toEvent<T>(row);
    hooks.forEach((hook, i) => hook.written?.(event, row[`hook_${i}`]));
    return event;
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

  /**
   * Deletes up to `limit` events older than `days` (EVENT_RETENTION_DAYS); while one replica does, the
   * others' batches delete nothing. @returns how many it deleted
   */
  async prune(days: number, limit: number): Promise<number> {
    const [row]: { deleted: number }[] = await this.dataSource.query(
      `WITH turn AS (SELECT pg_try_advisory_xact_lock(hashtext('wafleet:retention:session_events')) AS mine),
       doomed AS (
         SELECT e.session_id, e.seq FROM session_events e, turn
         WHERE turn.mine AND e.occurred_at < now() - $1 * interval '1 day' LIMIT $2),
       deleted AS (DELETE FROM session_events e USING doomed WHERE e.session_id = doomed.session_id AND e.seq = doomed.seq RETURNING 1)
       SELECT count(*)::int AS deleted FROM deleted`,
      [days, limit],
    );
    return row?.deleted ?? 0;
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
