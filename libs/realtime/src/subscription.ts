import { ValidationFailedError, type FieldProblem } from '@wafleet/core';

/** What a client asks for with `subscribe` (notes/api-conventions.md "Events"). */
export interface SubscribeRequest {
  /** Session ids or names; absent: every session of the tenant. */
  sessions?: string[];
  /** Per session id or name: replay the log after this seq before live events. */
  afterSeq?: Record<string, number>;
}

/** What a client asks for with `unsubscribe`. */
export interface UnsubscribeRequest {
  /** Session ids or names; absent: everything the socket is subscribed to. */
  sessions?: string[];
}

/** More than this in one `subscribe` (or `unsubscribe`) is refused; subscribe to the tenant instead. */
export const MAX_SESSIONS_PER_SUBSCRIBE = 100;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** A session id or name: no NUL character, which could never name one (the database cannot store it). */
const isRef = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 100 && !value.includes('\u0000');

/** Checks a `subscribe` payload; a mistake is a ValidationFailedError naming each bad field, as over HTTP. */
export function parseSubscribeRequest(payload: unknown): SubscribeRequest {
  if (payload === undefined || payload === null) return {};
  if (!isRecord(payload)) throw new ValidationFailedError([{ field: 'subscribe', problems: ['the payload must be an object: { sessions?, afterSeq? }'] }]);
  const problems: FieldProblem[] = [];
  for (const field of Object.keys(payload)) {
    if (field !== 'sessions' && field !== 'afterSeq') problems.push({ field, problems: [`property ${field} should not exist`] });
  }
  const { sessions, afterSeq } = payload;
  checkSessions(sessions, problems);
  if (afterSeq !== undefined) {
    const entries = isRecord(afterSeq) ? Object.entries(afterSeq) : undefined;
    if (!entries || entries.length > MAX_SESSIONS_PER_SUBSCRIBE) {
      problems.push({ field: 'afterSeq', problems: [`afterSeq must be an object of at most ${MAX_SESSIONS_PER_SUBSCRIBE} entries { [session]: seq }`] });
    } else {
      for (const [session, seq] of entries) {
        if (!isRef(session) || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
          problems.push({ field: `afterSeq.${session}`, problems: ['a seq must be an integer of 0 or more'] });
        }
      }
    }
  }
  if (problems.length) throw new ValidationFailedError(problems);
  return {
    ...(sessions !== undefined ? { sessions: [...new Set(sessions as string[])] } : {}),
    ...(afterSeq !== undefined ? { afterSeq: afterSeq as Record<string, number> } : {}),
  };
}

/** Checks an `unsubscribe` payload, as `subscribe`'s. */
export function parseUnsubscribeRequest(payload: unknown): UnsubscribeRequest {
  if (payload === undefined || payload === null) return {};
  if (!isRecord(payload)) throw new ValidationFailedError([{ field: 'unsubscribe', problems: ['the payload must be an object: { sessions? }'] }]);
  const problems: FieldProblem[] = Object.keys(payload)
    .filter((field) => field !== 'sessions')
    .map((field) => ({ field, problems: [`property ${field} should not exist`] }));
  checkSessions(payload.sessions, problems);
  if (problems.length) throw new ValidationFailedError(problems);
  return payload.sessions !== undefined ? { sessions: [...new Set(payload.sessions as string[])] } : {};
}

function checkSessions(sessions: unknown, problems: FieldProblem[]): void {
  if (sessions === undefined) return;
  if (!Array.isArray(sessions) || !sessions.length || sessions.length > MAX_SESSIONS_PER_SUBSCRIBE || !sessions.every(isRef)) {
    problems.push({ field: 'sessions', problems: [`sessions must be a list of 1 to ${MAX_SESSIONS_PER_SUBSCRIBE} session ids or names`] });
  }
}
