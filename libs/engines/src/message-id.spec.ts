import { newMessageId } from './message-id';

describe('newMessageId', () => {
  it('is shaped as WhatsApp Web ids are', () => {
    expect(newMessageId()).toMatch(/^3EB0[0-9A-F]{18}$/);
  });

  it('never repeats, also across the draws of its random bytes', () => {
    const ids = new Set(Array.from({ length: 2_000 }, () => newMessageId()));
    expect(ids.size).toBe(2_000);
  });
});
