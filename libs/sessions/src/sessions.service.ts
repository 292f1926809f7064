import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Quotas } from '@wafleet/billing';
import { AppConfig } from '@wafleet/config';
import { decodeCursor, isUuid, Page, toPage, ValidationFailedError } from '@wafleet/core';
import { SessionPlacement } from '@wafleet/registry';
import { Bus, BusTimeoutError, BusUnknownInstanceError, SyncUnavailableError } from '@wafleet/sync';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, Repository } from 'typeorm';
import { EventLog } from './event-log';
import { parsePhoneNumber } from './phone-number';
import type { SessionEvent } from './session-events';
import { FIRST_QR_WAIT_MS, SessionLifecycle } from './session-lifecycle';
import { Session } from './session.entity';
import { SessionSnapshots } from './session-snapshots';
import { toSessionView, type SessionView } from './session.view';
import { NoCapacityError, SessionNameTakenError, SessionNotFoundError, SessionUnownedError } from './sessions.errors';

export type { SessionView } from './session.view';

const UNIQUE_VIOLATION = '23505';
const MAX_METADATA_BYTES = 8 * 1024;
/** The columns of a Session, named as its properties; the driver parses jsonb and timestamptz, and keeps the bigint a string. */
const SESSION_COLUMNS = [
  'id',
  'tenant_id AS "tenantId"',
  'name',
  'metadata',
  'status',
  'desired_state AS "desiredState"',
  'me',
  'owner_instance_id AS "ownerInstanceId"',
  'lease_epoch AS "leaseEpoch"',
  'created_at AS "createdAt"',
  'updated_at AS "updatedAt"',
].join(', ');
/** The Bus command a replica serves for sessions it owns. */
const SESSION_COMMAND = 'sessions.command';

/** What is asked of a session's engine. */
type SessionCall = { op: 'start' | 'stop' | 'restart' | 'logout' | 'delete' | 'qr' } | { op: 'pairingCode'; phone: string };
/** A call for a session, as one replica asks its owner to serve it. */
type SessionCommand = SessionCall & { tenantId: string; sessionId: string };
type CommandOp = SessionCall['op'];

/** How long the owner may take: an engine ends and wipes in seconds, a pairing code waits for WhatsApp. */
const COMMAND_TIMEOUT_MS: Record<CommandOp, number> = {
  start: 15_000,
  stop: 20_000,
  restart: 30_000,
  logout: 20_000,
  delete: 20_000,
  qr: 10_000,
  pairingCode: FIRST_QR_WAIT_MS + 10_000,
};

/**
 * Sessions of one tenant. A session is addressed by id or by name; another tenant's session is "not
 * found", exactly like one that does not exist. Any replica answers any call: what only the session's
 * engine can do is served here when this replica holds the session's lease, and by its owner over the
 * Bus otherwise (DESIGN "Session ownership"); a session nobody runs is served here too, except what
 * needs a running engine, which answers 503 until the reconciler has started it somewhere.
 */
@Injectable()
export class SessionsService implements OnModuleInit {
  private readonly snapshots = new SessionSnapshots();

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly lifecycle: SessionLifecycle,
    private readonly bus: Bus,
    private readonly config: AppConfig,
    private readonly placement: SessionPlacement,
    private readonly log: EventLog,
    private readonly quotas: Quotas,
  ) {}

  onModuleInit(): void {
    this.bus.handle(SESSION_COMMAND, (payload) => this.serve(payload as SessionCommand));
  }

  async create(tenantId: string, name: string, metadata: Record<string, unknown> = {}): Promise<SessionView> {
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
      throw new ValidationFailedError([{ field: 'metadata', problems: [`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`] }]);
    }
    this.snapshots.forget(tenantId, undefined, name);
    try {
      // The plan's max sessions holds across replicas: the tenant's row is locked while counting and inserting.
      const id = await this.sessions.manager.transaction(async (manager) => {
        await this.quotas.withinPlanLimit(manager, tenantId, 'maxSessions', async () => {
          const [count]: { n: number }[] = await manager.query(`SELECT count(*)::int AS n FROM sessions WHERE tenant_id = $1`, [tenantId]);
          return count!.n;
        });
        const [row]: { id: string }[] = await manager.query(
          `INSERT INTO sessions (id, tenant_id, name, metadata) VALUES ($1, $2, $3, $4::jsonb) RETURNING id`,
          [randomUUID(), tenantId, name, JSON.stringify(metadata)],
        );
        return row!.id;
      });
      return toSessionView(await this.sessions.findOneByOrFail({ id }));
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new SessionNameTakenError(name);
      }
      throw error;
    }
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<Page<SessionView>> {
    const query = this.sessions
      .createQueryBuilder('s')
      .where('s.tenant_id = :tenantId', { tenantId })
      .orderBy('s.created_at', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .take(limit + 1);
    if (cursor) query.andWhere('(s.created_at, s.id) > (:createdAt, :id)', decodeCursor(cursor));
    return toPage(await query.getMany(), limit, toSessionView);
  }

  async get(tenantId: string, idOrName: string): Promise<SessionView> {
    return toSessionView(await this.find(tenantId, idOrName));
  }

  /**
   * The session as read at most SNAPSHOT_TTL_MS ago, for a caller that may act on a slightly old state:
   * the send route, where a message accepted for a session stopped elsewhere in that moment stays queued
   * like one accepted just before the stop. Changes made through this replica are seen at once.
   */
  recent(tenantId: string, idOrName: string): Promise<SessionView> {
    return this.snapshots.get(tenantId, idOrName, () => this.get(tenantId, idOrName));
  }

  /**
   * A page of the session's event log after `afterSeq`, oldest first; `nextCursor` is the last `seq`
   * shown (pass it as `after`), null once the log is read to its end.
   * @param cursor a `nextCursor` this route returned; it wins over `afterSeq`
   */
  async events(tenantId: string, idOrName: string, afterSeq: number, limit: number, cursor?: string): Promise<Page<SessionEvent>> {
    const session = await this.find(tenantId, idOrName);
    const after = cursor === undefined ? afterSeq : Number(cursor);
    if (!/^\d{1,16}$/.test(cursor ?? '0') || !Number.isSafeInteger(after)) {
      throw new ValidationFailedError([{ field: 'cursor', problems: ['cursor is not one this API returned'] }]);
    }
    const rows = await this.log.replay(tenantId, session.id, after, limit + 1);
    const shown = rows.slice(0, limit);
    return { data: shown, nextCursor: rows.length > limit ? String(shown[shown.length - 1]!.seq) : null };
  }

  /** Starts the engine (a QR follows when the session is not linked); a running session is left as it is. */
  start(tenantId: string, idOrName: string): Promise<SessionView> {
    return this.route(tenantId, idOrName, { op: 'start' });
  }

  /** Stops the engine and keeps it stopped across restarts; the link to the phone stays. */
  stop(tenantId: string, idOrName: string): Promise<SessionView> {
    return this.route(tenantId, idOrName, { op: 'stop' });
  }

  restart(tenantId: string, idOrName: string): Promise<SessionView> {
    return this.route(tenantId, idOrName, { op: 'restart' });
  }

  /** Unlinks the device from the phone and wipes the auth state: the next start shows a QR again. */
  logout(tenantId: string, idOrName: string): Promise<SessionView> {
    return this.route(tenantId, idOrName, { op: 'logout' });
  }

  /** Logs out first when the session is connected, so the phone's list of linked devices stays true. */
  async delete(tenantId: string, idOrName: string): Promise<void> {
    await this.route(tenantId, idOrName, { op: 'delete' });
  }

  /** The QR on show; only while the session is in `scan_qr`. */
  qr(tenantId: string, idOrName: string): Promise<string> {
    return this.route(tenantId, idOrName, { op: 'qr' });
  }

  /**
   * A code to type on the phone instead of scanning. The session must be registering (`scan_qr`), or
   * `starting`, in which case this waits for it to reach WhatsApp first.
   */
  pairingCode(tenantId: string, idOrName: string, phoneInput: string): Promise<{ code: string; phone: string }> {
    const phone = parsePhoneNumber(phoneInput, 'phone');
    return this.route(tenantId, idOrName, { op: 'pairingCode', phone });
  }

  /** Serves the call where the session runs; whatever came of it, this replica's snapshots of the session are dropped. */
  private async route<T>(tenantId: string, idOrName: string, call: SessionCall): Promise<T> {
    const session = await this.find(tenantId, idOrName);
    try {
      return await this.routeFound<T>(tenantId, session, call);
    } finally {
      this.snapshots.forget(tenantId, session.id);
    }
  }

  private async routeFound<T>(tenantId: string, session: Session, call: SessionCall): Promise<T> {
    const [lease]: { owner: string }[] = await this.sessions.query(
      `SELECT owner_instance_id AS owner FROM sessions WHERE id = $1 AND lease_expires_at > now()`,
      [session.id],
    );
    const command: SessionCommand = { ...call, tenantId, sessionId: session.id };
    if (lease && lease.owner !== this.config.instanceId) {
      return this.bus.request<T>(lease.owner, SESSION_COMMAND, command, COMMAND_TIMEOUT_MS[command.op]);
    }
    if (!lease && (call.op === 'qr' || call.op === 'pairingCode') && session.desiredState === 'running') {
      throw new SessionUnownedError(session.name, this.config.registry.leaseTtlMs);
    }
    if (!lease && (call.op === 'start' || call.op === 'restart')) return this.startWherePlaced<T>(session, command);
    return this.run(session, command) as Promise<T>;
  }

  /** A session nobody runs starts on the replica placement prefers, so replicas fill evenly whoever is asked. */
  private async startWherePlaced<T>(session: Session, command: SessionCommand): Promise<T> {
    const target = this.placement.preferred(session.id, await this.placement.candidates());
    if (!target) throw new NoCapacityError();
    if (target !== this.config.instanceId) {
      try {
        return await this.bus.request<T>(target, SESSION_COMMAND, command, COMMAND_TIMEOUT_MS[command.op]);
      } catch (error) {
        // The preferred replica went away meanwhile: start it here rather than fail the call.
        if (!(error instanceof BusUnknownInstanceError || error instanceof BusTimeoutError || error instanceof SyncUnavailableError)) throw error;
      }
    }
    return this.run(session, command) as Promise<T>;
  }

  /** A call another replica forwarded because this one owns the session; served here whatever happened since. */
  private async serve(command: SessionCommand): Promise<unknown> {
    try {
      return await this.run(await this.find(command.tenantId, command.sessionId), command);
    } finally {
      this.snapshots.forget(command.tenantId, command.sessionId);
    }
  }

  private run(session: Session, command: SessionCommand): Promise<unknown> {
    switch (command.op) {
      case 'pairingCode':
        return this.lifecycle.pairingCode(session, command.phone);
      default:
        return this.lifecycle[command.op](session);
    }
  }

  /**
   * One parameterised statement rather than `findOneBy`: every call on a session starts here, and
   * TypeORM's query builder costs more CPU than the lookup itself.
   */
  private async find(tenantId: string, idOrName: string): Promise<Session> {
    const [session]: Session[] = await this.sessions.query(
      `SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND ${isUuid(idOrName) ? 'id' : 'name'} = $2`,
      [tenantId, idOrName],
    );
    if (!session) throw new SessionNotFoundError(idOrName);
    return session;
  }
}
