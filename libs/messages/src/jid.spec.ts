import { ValidationFailedError } from '@wafleet/core';
import { toChatJid } from './jid';

describe('toChatJid', () => {
  it('reads phones and JIDs', () => {
    expect(toChatJid('+55 11 99999-0000', 'to')).toBe('5511999990000@s.whatsapp.net');
    expect(toChatJid('5511999990000:3@s.whatsapp.net', 'to')).toBe('5511999990000@s.whatsapp.net');
    expect(toChatJid('120363025246125486@g.us', 'to')).toBe('120363025246125486@g.us');
    expect(toChatJid('123456789012345@lid', 'to')).toBe('123456789012345@lid');
  });

  it('names the field when it is neither', () => {
    for (const bad of ['hello', 'x@example.com', '12@s.whatsapp.net', '']) {
      let error: unknown;
      try {
        toChatJid(bad, 'to');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ValidationFailedError);
      expect((error as ValidationFailedError).details).toEqual([expect.objectContaining({ field: 'to' })]);
    }
  });
});
