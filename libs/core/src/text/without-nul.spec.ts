import { withoutNul } from './without-nul';

describe('withoutNul', () => {
  it('replaces each NUL in strings, nested values and keys with U+FFFD, leaving the rest as it was', () => {
    expect(withoutNul('a\u0000b\u0000')).toBe('a\ufffdb\ufffd');
    expect(withoutNul({ 'k\u0000': ['x\u0000', 1, null, true, { deep: 'y\u0000' }], clean: 'z' })).toEqual({
      'k\ufffd': ['x\ufffd', 1, null, true, { deep: 'y\ufffd' }],
      clean: 'z',
    });
  });

  it('answers a value with no NUL unchanged', () => {
    const value = { id: '5511@s.whatsapp.net', name: 'Ana' };
    expect(withoutNul(value)).toEqual(value);
    expect(withoutNul(7)).toBe(7);
    expect(withoutNul(null)).toBeNull();
  });
});
