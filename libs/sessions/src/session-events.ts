import { Injectable } from '@nestjs/common';
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
  /** The session's gap-free sequence number, from its event log. */
  seq: number;
  occurredAt: string;
  data: SessionEventData[T];
}

/**
 * Domain events of sessions, published by the event log once the event and the state it describes are
 * committed, so every subscriber (Socket.IO, webhooks later) sees the stored envelope with its `seq`.
 * Subscribers receive them in publish order; a subscriber that throws does not stop the others.
 */
@Injectable()
export class SessionEvents {
  private readonly emitter = new EventEmitter();

  publish(event: SessionEvent): void {
    for (const listener of this.emitter.listeners('event')) {
      try {
        (listener as (event: SessionEvent) => void)(event);
      } catch {
        // One broken subscriber must not keep the event from the rest.
      }
    }
  }

  /** @returns a function that unsubscribes */
  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
