import { BeforeApplicationShutdown, createParamDecorator, Logger, type ExecutionContext } from '@nestjs/common';
import { ConnectedSocket, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { AdminKey, ApiKeysService, Public, type KeyRevocation } from '@wafleet/auth';
import { AppConfig } from '@wafleet/config';
import { DomainError, type ErrorBody } from '@wafleet/core';
import { EventLog, SessionEvents, SessionsService, type SessionEvent } from '@wafleet/sessions';
import { randomUUID } from 'node:crypto';
import type { Namespace, Socket } from 'socket.io';
import { RealtimeMetrics } from './realtime.metrics';
import { SocketKeyInvalidError, SocketKeyMissingError, SocketTenantKeyRequiredError, SessionsNotFoundError } from './realtime.errors';
import { SessionEventStream } from './session-event-stream';
import { parseSubscribeRequest, parseUnsubscribeRequest } from './subscription';

/** What the server emits to clients: each envelope under the name `event`. */
interface ServerToClient {
  event: (event: SessionEvent) => void;
}

/** What replicas send each other over the adapter: an event one of them produced. */
interface BetweenReplicas {
  'session-event': (event: SessionEvent) => void;
}

interface Caller {
  tenantId: string;
  keyId: string;
  stream: SessionEventStream;
  /** Sessions unsubscribed while the socket is in its tenant's room: their events are not sent. */
  left: Set<string>;
}

type EventsNamespace = Namespace<Record<string, never>, ServerToClient, BetweenReplicas, Caller>;
type EventsSocket = Socket<Record<string, never>, ServerToClient, BetweenReplicas, Caller>;

/**
 * The event's payload as the client sent it. Not `@MessageBody()`: the app's validation pipe would check
 * it first, and a refusal there reaches the client as no ack at all. The handlers check it themselves
 * (parseSubscribeRequest), so every mistake is answered in the ack.
 */
const Payload = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToWs().getData<unknown>());

/** The events a client sends. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set(['subscribe', 'unsubscribe']);

/** The answer to `subscribe` (what it subscribed) and to `unsubscribe` (what it unsubscribed), or the error body. */
export type SubscribeAck =
  | { tenant: boolean; sessions: Array<{ id: string; name: string; afterSeq?: number }> }
  | ErrorBody;

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const tenantRoom = (tenantId: string) => `tenant:${tenantId}`;
const keyRoom = (keyId: string) => `api-key:${keyId}`;
const tenantKeysRoom = (tenantId: string) => `api-keys:${tenantId}`;

/** Revoked keys are looked for at least this often, whatever API_KEY_CACHE_TTL_MS says. */
const MIN_KEY_SWEEP_MS = 1000;

/**
 * Socket.IO namespace `/events` (notes/api-conventions.md "Events"). A client connects with a tenant key
 * (`auth: { apiKey }` or the `x-api-key` header), then `subscribe`s to sessions (rooms `session:<id>`)
 * or to its whole tenant (room `tenant:<id>`), optionally replaying each session's log after a seq, and
 * `unsubscribe`s from some or all of them.
 *
 * An event reaches subscribers after its transaction commits: the replica that produced it delivers it
 * to its own sockets in those rooms and, with Redis, hands it to the other replicas over the Socket.IO
 * adapter, which deliver to theirs. Delivery goes through each socket's SessionEventStream rather than a
 * plain room emit, so a replay and the live events racing it come out in seq order, each once.
 *
 * A revoked key's sockets are disconnected at once on every replica reachable over the adapter, and by
 * each replica's own sweep within API_KEY_CACHE_TTL_MS otherwise.
 */
// The HTTP key guard stands aside: a socket's key is checked once, at the handshake (`authenticate`).
@Public()
@WebSocketGateway({ namespace: '/events' })
export class EventsGateway implements OnGatewayInit<EventsNamespace>, OnGatewayConnection<EventsSocket>, BeforeApplicationShutdown {
  private readonly logger = new Logger('Realtime');
  @WebSocketServer() private readonly nsp!: EventsNamespace;
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly adminKey: AdminKey,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionsService,
    private readonly log: EventLog,
    private readonly events: SessionEvents,
    private readonly metrics: RealtimeMetrics,
  ) {}

  afterInit(nsp: EventsNamespace): void {
    nsp.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => next(this.connectError(error)),
      );
    });
    nsp.on('session-event', (event) => this.deliverHere(event));
    this.metrics.observeConnected(() => nsp.sockets.size);
    this.stops.push(this.events.subscribe((event) => this.broadcast(event)));
    this.stops.push(this.apiKeys.onRevoked((revocation) => this.disconnectRevoked(revocation)));
    const sweep = setInterval(() => void this.sweepRevokedKeys(), Math.max(this.config.auth.apiKeyCacheTtlMs, MIN_KEY_SWEEP_MS));
    sweep.unref();
    this.stops.push(() => clearInterval(sweep));
  }

  handleConnection(socket: EventsSocket): void {
    void socket.join([keyRoom(socket.data.keyId), tenantKeysRoom(socket.data.tenantId)]);
    // An event this server does not serve, sent with an ack, is answered rather than left to time out.
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = args.at(-1);
      if (CLIENT_EVENTS.has(event) || typeof ack !== 'function') return;
      ack({ error: { code: 'unknown_event', message: `No event "${event}" here: send ${[...CLIENT_EVENTS].join(' or ')}.` } });
    });
  }

  /** Clients are let go first: they reconnect to a replica that stays and replay what they missed. */
  beforeApplicationShutdown(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.nsp?.local.disconnectSockets(true);
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: EventsSocket, @Payload() payload: unknown): Promise<SubscribeAck> {
    return this.answer('subscribe', () => this.subscribeTo(socket, payload));
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: EventsSocket, @Payload() payload: unknown): Promise<SubscribeAck> {
    return this.answer('unsubscribe', () => this.unsubscribeFrom(socket, payload));
  }

  /** The ack of a request: its answer, or the error body of what it threw. */
  private async answer(what: string, work: () => Promise<SubscribeAck>): Promise<SubscribeAck> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError) {
        return { error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } };
      }
      const errorId = randomUUID();
      this.logger.error({ err: error, errorId }, `${what} failed`);
      return { error: { code: 'internal_error', message: 'Internal error; quote this errorId when reporting it.', errorId } };
    }
  }

  private async subscribeTo(socket: EventsSocket, payload: unknown): Promise<SubscribeAck> {
    const request = parseSubscribeRequest(payload);
    const { tenantId, stream, left } = socket.data;
    const afterSeq = request.afterSeq ?? {};
    const resolved = await this.resolve(tenantId, [...new Set([...(request.sessions ?? []), ...Object.keys(afterSeq)])]);

    const tenant = request.sessions === undefined;
    if (tenant) left.clear();
    for (const { session } of resolved) left.delete(session.id);
    const replays = resolved.filter(({ ref }) => afterSeq[ref] !== undefined);
    // Replays are queued in the same turn as the join, so no live event gets ahead of them, and read the
    // log only once the join is done, so whatever commits after that read arrives live.
    const joined = Promise.resolve(socket.join(tenant ? [tenantRoom(tenantId)] : resolved.map(({ session }) => sessionRoom(session.id))));
    for (const { ref, session } of replays) void stream.replayFrom(session.id, afterSeq[ref]!, joined);
    await joined;
    const shown = tenant ? replays : resolved;
    return {
      tenant,
      sessions: shown.map(({ ref, session }) => ({ id: session.id, name: session.name, ...(afterSeq[ref] === undefined ? {} : { afterSeq: afterSeq[ref] }) })),
    };
  }

  /**
   * Without `sessions`, leaves the tenant's room and every session's; with them, those sessions' rooms,
   * and, on a socket in its tenant's room, stops their events there too, until they are subscribed again.
   */
  private async unsubscribeFrom(socket: EventsSocket, payload: unknown): Promise<SubscribeAck> {
    const request = parseUnsubscribeRequest(payload);
    const { tenantId, stream, left } = socket.data;
    if (request.sessions === undefined) {
      const rooms = [...socket.rooms].filter((room) => room === tenantRoom(tenantId) || room.startsWith(sessionRoom('')));
      await Promise.all(rooms.map((room) => socket.leave(room)));
      left.clear();
      stream.forget();
      return { tenant: true, sessions: [] };
    }
    const resolved = await this.resolve(tenantId, request.sessions);
    const inTenant = socket.rooms.has(tenantRoom(tenantId));
    for (const { session } of resolved) {
      await socket.leave(sessionRoom(session.id));
      if (inTenant) left.add(session.id);
      stream.forget(session.id);
    }
    return { tenant: false, sessions: resolved.map(({ session }) => ({ id: session.id, name: session.name })) };
  }

  /** The tenant's sessions by id or name; `session_not_found` naming every one that is not. */
  private async resolve(tenantId: string, refs: string[]): Promise<Array<{ ref: string; session: { id: string; name: string } }>> {
    const found = await Promise.allSettled(refs.map((ref) => this.sessions.get(tenantId, ref)));
    const missing = refs.filter((_, i) => found[i]!.status === 'rejected');
    const failure = found.find((result): result is PromiseRejectedResult => result.status === 'rejected' && !(result.reason instanceof DomainError));
    if (failure) throw failure.reason;
    if (missing.length) throw new SessionsNotFoundError(missing);
    return found.map((result, i) => ({ ref: refs[i]!, session: (result as PromiseFulfilledResult<{ id: string; name: string }>).value }));
  }

  /** An event this replica produced (after commit): to its own subscribers, and to the other replicas'. */
  private broadcast(event: SessionEvent): void {
    this.deliverHere(event);
    if (this.config.sync.backend === 'redis') this.nsp.serverSideEmit('session-event', event);
  }

  private deliverHere(event: SessionEvent): void {
    const rooms = this.nsp.adapter.rooms;
    const ids = new Set([...(rooms.get(sessionRoom(event.sessionId)) ?? []), ...(rooms.get(tenantRoom(event.tenantId)) ?? [])]);
    for (const id of ids) {
      const socket = this.nsp.sockets.get(id);
      // The tenant check is a second lock on the door: rooms are joined only for the caller's tenant.
      if (socket?.data.tenantId === event.tenantId && !socket.data.left.has(event.sessionId)) void socket.data.stream.push(event);
    }
  }

  private async authenticate(socket: EventsSocket): Promise<void> {
    const fromAuth = (socket.handshake.auth as { apiKey?: unknown } | undefined)?.apiKey;
    const header = socket.handshake.headers['x-api-key'];
    const presented = typeof fromAuth === 'string' && fromAuth ? fromAuth : Array.isArray(header) ? header[0] : header;
    if (!presented) throw new SocketKeyMissingError();
    if (this.adminKey.matches(presented)) throw new SocketTenantKeyRequiredError();
    const key = await this.apiKeys.authenticate(presented);
    if (!key) throw new SocketKeyInvalidError();
    const stream = new SessionEventStream(
      (sessionId, after, limit) => this.log.replay(key.tenantId, sessionId, after, limit),
      (event, source) => {
        socket.emit('event', event);
        this.metrics.eventSent(source);
      },
      (error, sessionId) => this.logger.warn({ err: error, sessionId, socketId: socket.id }, 'reading the event log for a subscriber failed'),
    );
    socket.data = { tenantId: key.tenantId, keyId: key.keyId, stream, left: new Set() };
  }

  /** What the client's `connect_error` carries: the message, and `data: { code }`. */
  private connectError(error: unknown): Error & { data?: unknown } {
    this.metrics.connectionRefused(error instanceof DomainError ? error.code : 'internal_error');
    if (error instanceof DomainError) return Object.assign(new Error(error.message), { data: { code: error.code } });
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId }, 'authenticating a socket failed');
    return Object.assign(new Error('Internal error; quote this errorId when reporting it.'), { data: { code: 'internal_error', errorId } });
  }

  private disconnectRevoked(revocation: KeyRevocation): void {
    const room = revocation.keyId ? keyRoom(revocation.keyId) : tenantKeysRoom(revocation.tenantId);
    // Through the adapter, so every replica drops its sockets of that key.
    this.nsp.in(room).disconnectSockets(true);
  }

  /** Drops this replica's sockets whose key was revoked (or whose tenant was deleted) on another replica. */
  private async sweepRevokedKeys(): Promise<void> {
    const keyIds = [...new Set([...this.nsp.sockets.values()].map((socket) => socket.data.keyId))];
    try {
      for (const keyId of await this.apiKeys.deadAmong(keyIds)) this.nsp.local.in(keyRoom(keyId)).disconnectSockets(true);
    } catch (error) {
      this.logger.warn({ err: error }, 'checking the keys of connected sockets failed');
    }
  }
}
