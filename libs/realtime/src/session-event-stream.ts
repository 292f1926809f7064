import type { SessionEvent } from '@wafleet/sessions';

/** Reads a session's log after a seq (EventLog.replay for the caller's tenant). */
export type ReadLog = (sessionId: string, afterSeq: number, limit: number) => Promise<SessionEvent[]>;

/** Where a sent event came from: pushed live, or read from the log (a replay, or a gap filled). */
export type EventSource = 'live' | 'log';

/** Events read from the log per query while replaying or filling a gap. */
export const REPLAY_PAGE = 200;

interface SessionCursor {
  /** The last seq sent for the session; undefined until the first one (a subscriber that asked for no replay). */
  last?: number;
  /** Work for this session runs one step at a time, in arrival order. */
  queue: Promise<void>;
  /** Unsubscribed: what is still queued sends nothing. */
  forgotten?: boolean;
}

/**
 * What one subscriber receives of each session: every event once, in seq order, with no gap. Live
 * events and replays of the log go through one queue per session: an event at or below the last seq
 * sent is a duplicate and is dropped; one past a gap (the subscriber is replaying, or a live event was
 * lost between replicas, or two owners' events crossed during a failover) first has the gap filled
 * from the log. Only the log is durable; live delivery is a fast path over it.
 */
export class SessionEventStream {
  private readonly sessions = new Map<string, SessionCursor>();

  constructor(
    private readonly readLog: ReadLog,
    private readonly send: (event: SessionEvent, source: EventSource) => void,
    private readonly onReadFailed: (error: unknown, sessionId: string) => void,
  ) {}

  /**
   * Sends what the log holds for the session after `afterSeq`, then carries on with live events from there.
   * @param ready the log is read once this settles (the socket joined its rooms): what commits after that
   *   read arrives live, and live events pushed meanwhile wait behind the replay
   */
  replayFrom(sessionId: string, afterSeq: number, ready?: Promise<unknown>): Promise<void> {
    return this.enqueue(sessionId, async (cursor) => {
      await ready;
      cursor.last = afterSeq;
      await this.catchUp(sessionId, cursor, Number.MAX_SAFE_INTEGER);
    });
  }

  /** A live event: sent in order, after any gap before it is filled; dropped when already sent. */
  push(event: SessionEvent): Promise<void> {
    return this.enqueue(event.sessionId, async (cursor) => {
      if (cursor.last !== undefined && event.seq <= cursor.last) return;
      if (cursor.last !== undefined && event.seq > cursor.last + 1) {
        // A log that cannot be read now still lets the live event through: the subscriber sees the gap in `seq`.
        await this.catchUp(event.sessionId, cursor, event.seq - 1).catch((error: unknown) => this.onReadFailed(error, event.sessionId));
      }
      if (cursor.last !== undefined && event.seq <= cursor.last) return;
      this.emit(cursor, event, 'live');
    });
  }

  /**
   * Stops sending the session (its subscriber left it): what is queued for it sends nothing, and a later
   * subscription starts afresh. Without `sessionId`, every session.
   */
  forget(sessionId?: string): void {
    const ids = sessionId === undefined ? [...this.sessions.keys()] : [sessionId];
    for (const id of ids) {
      const cursor = this.sessions.get(id);
      if (cursor) cursor.forgotten = true;
      this.sessions.delete(id);
    }
  }

  /** Resolves once everything queued so far is sent. */
  async settled(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((cursor) => cursor.queue));
  }

  private enqueue(sessionId: string, step: (cursor: SessionCursor) => Promise<void>): Promise<void> {
    let cursor = this.sessions.get(sessionId);
    if (!cursor) this.sessions.set(sessionId, (cursor = { queue: Promise.resolve() }));
    const current = cursor;
    current.queue = current.queue.then(() => step(current)).catch((error: unknown) => this.onReadFailed(error, sessionId));
    return current.queue;
  }

  /** Sends the log's events after the cursor up to `upTo`, page by page. */
  private async catchUp(sessionId: string, cursor: SessionCursor, upTo: number): Promise<void> {
    while (!cursor.forgotten) {
      const page = await this.readLog(sessionId, cursor.last ?? 0, REPLAY_PAGE);
      for (const event of page) {
        if (event.seq > upTo) return;
        this.emit(cursor, event, 'log');
      }
      if (page.length < REPLAY_PAGE) return;
    }
  }

  private emit(cursor: SessionCursor, event: SessionEvent, source: EventSource): void {
    if (cursor.forgotten) return;
    cursor.last = event.seq;
    this.send(event, source);
  }
}
