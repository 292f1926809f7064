import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { SessionMe, SessionStatus } from './session.entity';

/** Where an outgoing message has got; `received` for inbound ones. Outgoing statuses only move forward. */
export type MessageStatusName = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';

/** A message as the API shows it (libs/messages), in the `message.*` events and over REST alike. */
export interface MessageEventView {
  id: string;
  sessionId: string;
  /** WhatsApp's id of the message. */
  waId: string;
  chat: string;
  sender: string | null;
  fromMe: boolean;
  direction: 'in' | 'out';
  kind: string;
  /** The text, or the caption of media. */
  text: string | null;
  /** What else the kind carries: location, contact, reaction target and emoji, voice, link preview, mentions. */
  content: Record<string, unknown>;
  media: { mimetype: string; fileName?: string; size?: number; seconds?: number } | null;
  quotedId: string | null;
  status: MessageStatusName;
  error: { code: string; message: string } | null;
  /** When WhatsApp says it was sent (inbound) or the engine handed it over (outgoing). */
  timestamp: string | null;
  edited: boolean;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Where a campaign (libs/campaigns) of the session has got; the data of every `campaign.*` event. */
export interface CampaignProgressView {
  campaignId: string;
  name: string;
  status: 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled' | 'stopped';
  /** Why it stopped: `quota_exceeded`, `session_logged_out`, `session_stopped`; null otherwise. */
  reason: string | null;
  total: number;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  pending: number;
}

/** Payloads by event type, in the envelope of notes/api-conventions.md ("Events"); docs/events.md lists them. */
export interface SessionEventData {
  'session.status': { status: SessionStatus; me: SessionMe | null; reason?: string };
  'session.qr': { qr: string };
  'session.pairing_code': { code: string; phone: string };
  'message.sent': MessageEventView;
  'message.received': MessageEventView;
  'message.status': { id: string; waId: string; chat: string; status: MessageStatusName; error?: { code: string; message: string } };
  'message.reaction': { waId: string; chat: string; sender: string; target: { waId: string; messageId: string | null }; emoji: string };
  'message.edited': { id: string | null; waId: string; chat: string; text: string };
  'message.deleted': { id: string | null; waId: string; chat: string };
  'campaign.progress': CampaignProgressView;
  'campaign.completed': CampaignProgressView;
  'campaign.failed': CampaignProgressView;
}

export type SessionEventType = keyof SessionEventData;

/** Every event type, for checking names a client gives (webhook filters); the compiler keeps it complete. */
export const SESSION_EVENT_TYPES = [
  'session.status',
  'session.qr',
  'session.pairing_code',
  'message.sent',
  'message.received',
  'message.status',
  'message.reaction',
  'message.edited',
  'message.deleted',
  'campaign.progress',
  'campaign.completed',
  'campaign.failed',
] as const satisfies readonly SessionEventType[];
type Unlisted = Exclude<SessionEventType, (typeof SESSION_EVENT_TYPES)[number]>;
// Fails to compile when a type is added to SessionEventData but not to the list.
const everyTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTypeListed;

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
