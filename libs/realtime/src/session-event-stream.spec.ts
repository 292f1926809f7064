import type { SessionEvent } from '@wafleet/sessions';
import { REPLAY_PAGE, SessionEventStream } from './session-event-stream';

const event = (sessionId: string, seq: number): SessionEvent => ({
  id: `${sessionId}-${seq}`,
  type: 'session.qr',
  tenantId: 't',
  sessionId,
  seq,
  occurredAt: new Date(0).toISOString(),
  data: { qr: String(seq) },
});

/** A log of `count` events per session, read like EventLog.replay; `reads` counts the queries. */
function logOf(count: number) {
  const state = { count, reads: 0, failing: false };
  const read = async (sessionId: string, after: number, limit: number) => {
    state.reads++;
    await new Promise((resolve) => setImmediate(resolve));
    if (state.failing) throw new Error('log unreachable');
    const events: SessionEvent[] = [];
    for (let seq = after + 1; seq <= state.count && events.length < limit; seq++) events.push(event(sessionId, seq));
    return events;
  };
  return { state, read };
}

function streamOn(read: (sessionId: string, after: number, limit: number) => Promise<SessionEvent[]>) {
  const sent: SessionEvent[] = [];
  const failures: unknown[] = [];
  const stream = new SessionEventStream(read, (e) => sent.push(e), (error) => failures.push(error));
  return { stream, sent, failures, seqs: (sessionId = 's') => sent.filter((e) => e.sessionId === sessionId).map((e) => e.seq) };
}

describe('SessionEventStream', () => {
  it('replays after a seq across pages, then goes on live with no duplicate and no gap', async () => {
    const log = logOf(REPLAY_PAGE + 50);
    const { stream, seqs } = streamOn(log.read);
    void stream.replayFrom('s', 10);
    // Live events arrive while the replay is still reading: some the replay also reads, some after it.
    for (const seq of [REPLAY_PAGE + 40, REPLAY_PAGE + 50, REPLAY_PAGE + 51, REPLAY_PAGE + 52]) {
      if (seq > log.state.count) log.state.count = seq;
      void stream.push(event('s', seq));
    }
    await stream.settled();
    expect(seqs()).toEqual(Array.from({ length: REPLAY_PAGE + 42 }, (_, i) => i + 11));
  });

  it('sends live events as they come to a subscriber that asked for no replay, and fills a gap from the log', async () => {
    const log = logOf(7);
    const { stream, seqs } = streamOn(log.read);
    await stream.push(event('s', 3));
    await stream.push(event('s', 4));
    await stream.push(event('s', 4));
    expect(log.state.reads).toBe(0);
    await stream.push(event('s', 7)); // 5 and 6 were lost on the way
    await stream.push(event('s', 6)); // and 6 turns up late
    expect(seqs()).toEqual([3, 4, 5, 6, 7]);
  });

  it('keeps sessions apart, and lets a live event through when the log cannot be read to fill its gap', async () => {
    const log = logOf(5);
    const { stream, seqs, failures } = streamOn(log.read);
    await stream.push(event('a', 1));
    await stream.push(event('b', 1));
    log.state.failing = true;
    await stream.push(event('a', 5));
    expect(seqs('a')).toEqual([1, 5]);
    expect(seqs('b')).toEqual([1]);
    expect(failures).toHaveLength(1);
    log.state.failing = false;
    await stream.replayFrom('b', 0);
    expect(seqs('b')).toEqual([1, 1, 2, 3, 4, 5]);
  });

  it('sends nothing more of a forgotten session, not even what was queued, and starts afresh when it comes back', async () => {
    const log = logOf(REPLAY_PAGE * 3);
    const { stream, seqs } = streamOn(log.read);
    await stream.push(event('a', 1));
    const replaying = stream.replayFrom('b', 0);
    void stream.push(event('a', 2));
    stream.forget('a');
    // b is forgotten in the middle of its replay, once its first page was sent.
    while (seqs('b').length < REPLAY_PAGE) await new Promise((resolve) => setImmediate(resolve));
    stream.forget('b');
    await replaying;
    await stream.settled();
    expect(seqs('a')).toEqual([1]);
    expect(seqs('b')).toEqual(Array.from({ length: REPLAY_PAGE }, (_, i) => i + 1));
    expect(log.state.reads).toBeLessThanOrEqual(2);
    // Subscribed again with no replay: live from the next event, with no gap filled behind it.
    await stream.push(event('a', 9));
    expect(seqs('a')).toEqual([1, 9]);
    await stream.push(event('c', 1));
    stream.forget();
    await stream.push(event('c', 3));
    expect(seqs('c')).toEqual([1, 3]);
  });
});
