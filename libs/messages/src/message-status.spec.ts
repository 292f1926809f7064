import { hasReached, keysResolvedBy, rankOf } from './message-status';

describe('message status order', () => {
  it('moves forward only, with failed ranking with delivered', () => {
    expect(['pending', 'sent', 'delivered', 'read', 'played'].map((s) => rankOf(s as never))).toEqual([0, 1, 2, 3, 4]);
    expect(rankOf('failed')).toBe(rankOf('delivered'));
  });

  it('counts a status as reached by anything at or past it, and by a failure', () => {
    expect(hasReached('read', 'delivered')).toBe(true);
    expect(hasReached('sent', 'delivered')).toBe(false);
    expect(hasReached('failed', 'read')).toBe(true);
    expect(hasReached('received', 'sent')).toBe(false);
  });

  it('wakes waiters for every status up to the one reached, or all of them on failure', () => {
    expect(keysResolvedBy('m', 'read')).toEqual(['message:m:sent', 'message:m:delivered', 'message:m:read']);
    expect(keysResolvedBy('m', 'failed')).toHaveLength(4);
    expect(keysResolvedBy('m', 'pending')).toEqual([]);
  });
});
