import { randomBytesFromPool, newTimeOrderedId } from './ids';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newTimeOrderedId', () => {
  it('is a UUIDv7 that grows with every call, also many to a millisecond and across pool draws', () => {
    const ids = Array.from({ length: 5_000 }, () => newTimeOrderedId());
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
  });

  it('carries the time it was made', () => {
    const before = Date.now();
    const id = newTimeOrderedId();
    const msecs = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(msecs).toBeGreaterThanOrEqual(before);
    expect(msecs).toBeLessThanOrEqual(Date.now() + 1);
  });
});

describe('randomBytesFromPool', () => {
  it('never hands out the same bytes twice, across draws of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) seen.add(randomBytesFromPool(16).toString('hex'));
    expect(seen.size).toBe(1_000);
  });

  it('refuses more than the pool holds', () => {
    expect(() => randomBytesFromPool(4097)).toThrow(RangeError);
  });
});
