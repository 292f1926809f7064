import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const PREFIX = 'whsec_';
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks receivers expect. */
export const newSecret = (): string => `${PREFIX}${randomBytes(32).toString('base64')}`;

/** Whether a secret a client gives is one Standard Webhooks libraries accept: `whsec_` + base64 of 24 to 64 bytes. */
export function isSecret(value: string): boolean {
  const base64 = SECRET.exec(value)?.[1];
  if (!base64 || base64.length % 4 !== 0) return false;
  const bytes = Buffer.from(base64, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/**
 * The three Standard Webhooks headers for one attempt. `webhook-id` stays the same across retries (the
 * receiver's dedupe key); the timestamp is the attempt's, as receivers refuse stale ones. With more than
 * one secret (a rotation's overlap) each signs, space-separated, so either verifies.
 */
export function signatureHeaders(webhookId: string, at: Date, body: string, secrets: readonly string[]): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => signer(secret).sign(webhookId, at, body)).join(' '),
  };
}

const signers = new Map<string, Webhook>();
const MAX_SIGNERS = 1_000;

/** One Webhook per secret, so its key is decoded once, not per attempt. */
function signer(secret: string): Webhook {
  let webhook = signers.get(secret);
  if (!webhook) {
    if (signers.size >= MAX_SIGNERS) signers.clear();
    webhook = new Webhook(secret);
    signers.set(secret, webhook);
  }
  return webhook;
}

/** The `webhook-id` of a delivery: stable for its whole life, replays included. */
export const webhookIdOf = (deliveryId: string): string => `msg_${deliveryId.replace(/-/g, '')}`;
