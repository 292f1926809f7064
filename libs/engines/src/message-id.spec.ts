import { newMessageId } from './message-id';

describe('newMessageId', () => {
  it('is shaped as WhatsApp Web ids are, with or without the sending account', () => {
    expect(newMessageId()).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(newMessageId('5511900000000:1@s.whatsapp.net')).toMatch(/^3EB0[0-9A-F]{18}$/);
  });

  it('never repeats, also across the batches its random bytes are drawn in', () => {
    const ids = new Set(Array.from({ length: 2_000 }, (_, i) => newMessageId(i % 2 ? '5511900000000@s.whatsapp.net' : undefined)));
    expect(ids.size).toBe(2_000);
  });
});
