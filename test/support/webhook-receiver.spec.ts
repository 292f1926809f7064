import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signedBy, type ReceivedHook } from './webhook-receiver';

const SECRET = 'whsec_' + randomBytes(32).toString('base64');
const OTHER = 'whsec_' + randomBytes(32).toString('base64');
const SENT_AT = new Date('2026-01-01T00:00:00Z');
const BODY = '{"type":"message.received"}';

/** A hook as the server would send it at SENT_AT, signed by `secrets`, arriving `lateMs` later. */
function hook(secrets: string[], lateMs = 0, body = BODY): ReceivedHook {
  const signature = secrets.map((secret) => new Webhook(secret).sign('msg_1', SENT_AT, BODY)).join(' ');
  return {
    path: '/hook',
    headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': String(SENT_AT.getTime() / 1000), 'webhook-signature': signature },
    body,
    at: SENT_AT.getTime() + lateMs,
    status: 200,
  };
}

describe('signedBy', () => {
  it('accepts a hook signed by the secret, however long ago it arrived', () => {
    expect(signedBy(SECRET, hook([SECRET]))).toBe(true);
    expect(signedBy(SECRET, hook([SECRET], 4 * 60_000))).toBe(true);
  });

  it('accepts either signature during a rotation', () => {
    expect(signedBy(SECRET, hook([OTHER, SECRET]))).toBe(true);
    expect(signedBy(OTHER, hook([OTHER, SECRET]))).toBe(true);
  });

  it('refuses another secret, a changed body and a timestamp more than five minutes from the arrival', () => {
    expect(signedBy(OTHER, hook([SECRET]))).toBe(false);
    expect(signedBy(SECRET, hook([SECRET], 0, BODY + ' '))).toBe(false);
    expect(signedBy(SECRET, hook([SECRET], 6 * 60_000))).toBe(false);
    expect(signedBy(SECRET, hook([SECRET], -6 * 60_000))).toBe(false);
  });
});
