import { decodeCursor, encodeCursor, toPage } from './pagination';

describe('cursor pagination', () => {
  const row = (n: number) => ({ id: `00000000-0000-4000-8000-00000000000${n}`, createdAt: new Date(Date.UTC(2026, 0, n)) });

  it('decodes what it encodes', () => {
    const position = row(3);
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['an id that is not a UUID', Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url')],
    ['a date PostgreSQL cannot hold', Buffer.from(`-200000-01-01T00:00:00.000Z|${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url')],
    ['a date that does not exist', Buffer.from(`2026-02-30T99:00:00.000Z|${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url')],
  ])('refuses a cursor it did not make (%s), naming the field', (_, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: 'validation_failed', details: [expect.objectContaining({ field: 'cursor' })] }));
  });

  it('gives a next cursor only when a row beyond the limit exists', () => {
    const full = toPage([row(1), row(2), row(3)], 2, (r) => r.id);
    expect(full.data).toEqual([row(1).id, row(2).id]);
    expect(decodeCursor(full.nextCursor!)).toEqual(row(2));
    expect(toPage([row(1), row(2)], 2, (r) => r.id).nextCursor).toBeNull();
  });
});
