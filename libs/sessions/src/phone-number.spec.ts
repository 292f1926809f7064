import { ValidationFailedError } from '@wafleet/core';
import { parsePhoneNumber } from './phone-number';

describe('parsePhoneNumber', () => {
  it.each([
    ['5511999990000', '5511999990000'],
    ['+55 11 99999-0000', '5511999990000'],
    ['+1 (555) 010.2222', '15550102222'],
    ['5511999990000@s.whatsapp.net', '5511999990000'],
    ['5511999990000:3@s.whatsapp.net', '5511999990000'],
  ])('reads %j as %s', (input, digits) => {
    expect(parsePhoneNumber(input)).toBe(digits);
  });

  it.each(['', 'abc', '123', '0123456789', '+55 11 9999a-0000', '1234567890123456', '5511@g.us'])('refuses %j naming the field', (input) => {
    expect(() => parsePhoneNumber(input)).toThrow(ValidationFailedError);
    try {
      parsePhoneNumber(input, 'phone');
    } catch (error) {
      expect((error as ValidationFailedError).details).toEqual([{ field: 'phone', problems: [expect.stringContaining('country code')] }]);
    }
  });
});
