import { hashKey, keyMatches, newAdminKey, newTenantKey, prefixOf } from './api-key.secret';

describe('API key secrets', () => {
  it('makes distinct, marked, URL-safe keys with 256 random bits', () => {
    const keys = new Set(Array.from({ length: 100 }, newTenantKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^wfk_[A-Za-z0-9_-]{43}$/);
    expect(newAdminKey()).toMatch(/^wfa_[A-Za-z0-9_-]{43}$/);
  });

  it('stores a hash that matches only the same key', () => {
    const key = newTenantKey();
    const stored = hashKey(key);
    expect(stored.toString('latin1')).not.toContain(key.slice(4));
    expect(keyMatches(key, stored)).toBe(true);
    expect(keyMatches(`${key}x`, stored)).toBe(false);
    expect(keyMatches(newTenantKey(), stored)).toBe(false);
    expect(keyMatches(key, Buffer.alloc(3))).toBe(false);
  });

  it('keeps a prefix short enough to reveal nothing useful', () => {
    const key = newTenantKey();
    expect(prefixOf(key)).toBe(key.slice(0, 12));
  });
});
