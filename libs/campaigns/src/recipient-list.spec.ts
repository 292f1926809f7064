import { ValidationFailedError } from '@wafleet/core';
import { checkRecipients, parseRecipientCsv } from './recipient-list';

describe('campaign recipient lists', () => {
  it('reads a CSV by its header, numbering rows by line, and reports a line with the wrong field count', () => {
    const csv = '\uFEFFphone,name,code\n+55 11 99999-0001,Ana,A1\n\n5511999990002,"Bo, Jr.",B2\n5511999990003,Cy\n';
    const { given, invalid } = parseRecipientCsv(csv);
    expect(given).toEqual([
      { row: 2, phone: '+55 11 99999-0001', variables: { name: 'Ana', code: 'A1' } },
      { row: 4, phone: '5511999990002', variables: { name: 'Bo, Jr.', code: 'B2' } },
    ]);
    expect(invalid).toEqual([{ row: 5, phone: '5511999990003', problem: 'has 2 fields, the header has 3' }]);
  });

  it('refuses a CSV without a phone column, or one that cannot be parsed, as a 400 on body', () => {
    expect(() => parseRecipientCsv('name,code\nAna,1\n')).toThrow(ValidationFailedError);
    const problems = (csv: string) => {
      try {
        parseRecipientCsv(csv);
      } catch (error) {
        return (error as ValidationFailedError).details;
      }
      return undefined;
    };
    expect(problems('phone,name\n"5511999990001,Ana\n')).toEqual([{ field: 'body', problems: [expect.stringContaining('the CSV cannot be read')] }]);
  });

  it('keeps valid recipients once by JID, counts duplicates, and says why each invalid one was refused', () => {
    const { recipients, duplicates, invalid } = checkRecipients(
      [
        { row: 2, phone: '+55 11 99999-0001', variables: { name: 'Ana' } },
        { row: 3, phone: '5511999990001@s.whatsapp.net', variables: { name: 'Ana again' } },
        { row: 4, phone: '12', variables: { name: 'Short' } },
        { row: 5, phone: '5511999990005', variables: {} },
        { row: 6, phone: '', variables: { name: 'Nobody' } },
        { row: 7, phone: '5511999990007', variables: { name: 7 } },
        { row: 8, phone: '5511999990008', variables: { name: { nested: true } } },
      ],
      ['name'],
    );
    expect(recipients).toEqual([
      { jid: '5511999990001@s.whatsapp.net', variables: { name: 'Ana' } },
      { jid: '5511999990007@s.whatsapp.net', variables: { name: '7' } },
    ]);
    expect(duplicates).toBe(1);
    expect(invalid.map((entry) => [entry.row, entry.problem])).toEqual([
      [4, expect.stringContaining('international number')],
      [5, 'missing variable name, which the template uses'],
      [6, 'phone is missing'],
      [8, 'variable name must be text, a number or a boolean'],
    ]);
  });
});
