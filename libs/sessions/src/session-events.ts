import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { SessionMe, SessionStatus } from './session.entity';

/** Payloads by event type, in the envelope of notes/api-conventions.md ("Events"). */
export interface SessionEventData {
  'session.status': { status: SessionStatus; me: SessionMe | null; reason?: string };
  'session.qr': { qr: string };
  'session.pairing_code': { code: string; phone: string };
}

export type SessionEventType = keyof SessionEventData;

export interface SessionEvent<T extends SessionEventType = SessionEventType> {
  id: string;
  type: T;
  tenantId: string;
  sessionId: string;
  occurredAt: string;
  data: SessionEventData[T];
}

/**
 * Domain events of sessions, published after the state they describe is stored. Subscribers (the event
 * log, Socket.IO and webhooks in later work) receive them in publish order; a subscriber that throws
 * does not stop the others.
 */
@Injectable()
export class SessionEvents {
  private readonly emitter = new EventEmitter();

  publish<T extends SessionEventType>(tenantId: string, sessionId: string, type: T, data: SessionEventData[T]): SessionEvent<T> {
    const event: SessionEvent<T> = { id: randomUUID(), type, tenantId, sessionId, occurredAt: new Date().toISOString(), data };
    for (const listener of this.emitter.listeners('event')) {
      try {
        (listener as (event: SessionEvent) => void)(event);
      } catch {
        // One broken subscriber must not keep the event from the rest.
      }
    }
    return event;
  }

  /** @returns a function that unsubscribes */
  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
