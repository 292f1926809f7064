import { io, type Socket } from 'socket.io-client';

/** An event envelope as a client receives it. */
export interface EventEnvelope {
  id: string;
  type: string;
  tenantId: string;
  sessionId: string;
  seq: number;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** A Socket.IO client on `/events` that keeps every event it receives. */
export interface EventsClient {
  socket: Socket;
  events: EventEnvelope[];
  /** The seqs received for one session, in arrival order. */
  seqsOf(sessionId: string): number[];
  subscribe(payload?: unknown): Promise<any>;
  unsubscribe(payload?: unknown): Promise<any>;
  /** Waits until `probe` holds over the events received, failing with what was received. */
  waitFor(what: string, probe: (events: EventEnvelope[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Connects the way README tells clients to: WebSocket transport only. Resolves once connected. */
export async function connectEvents(baseUrl: string, options: { apiKey?: string; headers?: Record<string, string> } = {}): Promise<EventsClient> {
  const socket = io(`${baseUrl}/events`, {
    transports: ['websocket'],
    reconnection: false,
    ...(options.apiKey !== undefined ? { auth: { apiKey: options.apiKey } } : {}),
    ...(options.headers ? { extraHeaders: options.headers } : {}),
  });
  const events: EventEnvelope[] = [];
  socket.on('event', (event: EventEnvelope) => events.push(event));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return {
    socket,
    events,
    seqsOf: (sessionId) => events.filter((event) => event.sessionId === sessionId).map((event) => event.seq),
    subscribe: (payload) => socket.timeout(10_000).emitWithAck('subscribe', payload),
    unsubscribe: (payload) => socket.timeout(10_000).emitWithAck('unsubscribe', payload),
    async waitFor(what, probe, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!probe(events)) {
        if (Date.now() > deadline) {
          const seen = events.map((e) => `${e.sessionId.slice(0, 8)}#${e.seq} ${e.type}${e.type === 'session.status' ? `:${e.data.status}` : ''}`);
          throw new Error(`${what} did not happen within ${timeoutMs} ms; received: ${JSON.stringify(seen)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () => socket.close(),
  };
}

/** The `connect_error` a connection attempt ends with; fails when it connects. */
export async function refusedConnection(baseUrl: string, options: { apiKey?: string; headers?: Record<string, string> } = {}): Promise<Error & { data?: any }> {
  try {
    const client = await connectEvents(baseUrl, options);
    client.close();
  } catch (error) {
    return error as Error & { data?: any };
  }
  throw new Error('the connection was accepted');
}
