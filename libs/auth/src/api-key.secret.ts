import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TENANT_KEY_MARK = 'wfk_';
const ADMIN_KEY_MARK = 'wfa_';
export const KEY_PREFIX_LENGTH = 12;

const TENANT_KEY_SHAPE = /^wfk_[A-Za-z0-9_-]{43}$/;

/** Whether a presented string could be a tenant key at all; anything else is refused without a lookup. */
export const looksLikeTenantKey = (presented: string): boolean => TENANT_KEY_SHAPE.test(presented);

/** A new tenant key: 256 random bits behind a recognisable mark. */
export const newTenantKey = (): string => TENANT_KEY_MARK + randomBytes(32).toString('base64url');

/** A new admin key, for the embedded default's first boot. */
export const newAdminKey = (): string => ADMIN_KEY_MARK + randomBytes(32).toString('base64url');

/** The part of a key stored and shown in lists. */
export const prefixOf = (key: string): string => key.slice(0, KEY_PREFIX_LENGTH);

/** Keys are 256-bit random, so one SHA-256 is enough to store them safely (no password stretching needed). */
export const hashKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Compares a presented key (or its hash, when the caller has it already) with a stored hash in constant time. */
export const keyMatches = (presented: string | Buffer, storedHash: Buffer): boolean => {
  const presentedHash = typeof presented === 'string' ? hashKey(presented) : presented;
  return storedHash.length === presentedHash.length && timingSafeEqual(presentedHash, storedHash);
};
