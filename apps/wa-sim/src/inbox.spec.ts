import { Inboxes } from './inbox';

const text = (body: string) => ({ from: '15550001000', type: 'text' as const, text: body, message: { conversation: body } });

describe('Inboxes', () => {
  it('tracks a message from pending through delivered (again and again) to acked', () => {
    const inboxes = new Inboxes();
    const entry = inboxes.add('15550002000', text('hi'), new Date(1_700_000_000_000));

    expect(inboxes.list('15550002000')).toEqual([
      { id: entry.id, from: '15550001000', type: 'text', text: 'hi', t: 1_700_000_000, status: 'pending', deliveries: 0 },
    ]);
    inboxes.markDelivered(entry);
    inboxes.markDelivered(entry);
    expect(inboxes.list('15550002000')[0]).toMatchObject({ status: 'delivered', deliveries: 2 });
    expect(inboxes.acknowledge('15550002000', entry.id)).toBe(true);
    expect(inboxes.list('15550002000')[0]).toMatchObject({ status: 'acked', deliveries: 2 });
  });

  it('stops delivering a message the device refused, unless a later copy is acknowledged', () => {
    const inboxes = new Inboxes();
    const refused = inboxes.add('15550002000', text('unreadable'));
    const retried = inboxes.add('15550002000', text('read on the second copy'));
    const acked = inboxes.add('15550002000', text('already read'));
    inboxes.acknowledge('15550002000', acked.id);

    for (const entry of [refused, retried, acked]) inboxes.refuse('15550002000', entry.id);
    expect(inboxes.unacknowledged('15550002000')).toEqual([]);
    inboxes.acknowledge('15550002000', retried.id);

    expect(inboxes.list('15550002000').map(({ text, status }) => [text, status])).toEqual([
      ['unreadable', 'refused'],
      ['read on the second copy', 'acked'],
      ['already read', 'acked'],
    ]);
  });

  it('keeps each account apart, lists unacknowledged messages oldest first and ignores unknown ids', () => {
    const inboxes = new Inboxes();
    const first = inboxes.add('15550002000', text('one'));
    const second = inboxes.add('15550002000', text('two'));
    inboxes.add('15550003000', text('elsewhere'));

    expect(inboxes.acknowledge('15550003000', first.id)).toBe(false);
    expect(inboxes.unacknowledged('15550002000').map((entry) => entry.text)).toEqual(['one', 'two']);
    inboxes.acknowledge('15550002000', first.id);
    expect(inboxes.unacknowledged('15550002000')).toEqual([second]);
    expect(inboxes.list('15550009000')).toEqual([]);
  });

  it('records a read receipt once, at its first time, for this account’s messages only', () => {
    const inboxes = new Inboxes();
    const entry = inboxes.add('15550002000', text('read me'));
    const other = inboxes.add('15550003000', text('not yours'));

    expect(inboxes.markRead('15550002000', [entry.id, other.id], new Date(1_700_000_000_000))).toEqual([entry.id]);
    inboxes.markRead('15550002000', [entry.id], new Date(1_700_000_100_000));

    expect(inboxes.list('15550002000')[0]).toMatchObject({ readAt: 1_700_000_000 });
    expect(inboxes.list('15550003000')[0]).not.toHaveProperty('readAt');
  });
});
