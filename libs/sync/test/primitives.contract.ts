import { NotFoundError } from '@wafleet/core';
import { BusPayloadTooLargeError, BusRemoteError, BusTimeoutError, BusUnknownInstanceError, SyncBindings } from '@wafleet/sync';

/** Two instances of one binding; for the memory binding both are the same process. */
export interface Peers {
  a: SyncBindings;
  b: SyncBindings;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls until `check` passes or `timeoutMs` runs out, then asserts once more. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

/**
 * What every binding of the sync primitives promises. Anything the memory binding passes, the Redis
 * binding passes across two instances.
 */
export function primitivesContract(name: string, peers: () => Peers): void {
  describe(`sync primitives (${name})`, () => {
    let unique = 0;
    const key = (label: string) => `${label}-${Date.now()}-${unique++}`;

    describe('Lock', () => {
      it('is exclusive and only its token holder extends or releases it', async () => {
        const { a, b } = peers();
        const lock = key('lock');
        const token = await a.lock.acquire(lock, 5000);
        expect(token).toEqual(expect.any(String));
        expect(await b.lock.acquire(lock, 5000)).toBeNull();
        expect(await b.lock.release(lock, 'not-the-token')).toBe(false);
        expect(await b.lock.extend(lock, 'not-the-token', 5000)).toBe(false);
        expect(await b.lock.extend(lock, token!, 5000)).toBe(true);
        expect(await b.lock.release(lock, token!)).toBe(true);
        expect(await b.lock.release(lock, token!)).toBe(false);
        expect(await b.lock.acquire(lock, 5000)).toEqual(expect.any(String));
      });

      it('expires after its ttl, after which the old token can no longer extend it', async () => {
        const { a, b } = peers();
        const lock = key('lock-ttl');
        const token = await a.lock.acquire(lock, 150);
        await sleep(250);
        expect(await a.lock.extend(lock, token!, 5000)).toBe(false);
        const next = await b.lock.acquire(lock, 5000);
        expect(next).not.toBeNull();
        expect(next).not.toBe(token);
      });
    });

    describe('PubSub', () => {
      it('fans a message out to subscribers on both instances, locally before publish returns', async () => {
        const { a, b } = peers();
        const channel = key('channel');
        const onA: unknown[] = [];
        const onB: unknown[] = [];
        const offA = await a.pubsub.subscribe(channel, (message) => onA.push(message));
        const offB = await b.pubsub.subscribe(channel, (message) => onB.push(message));
        await a.pubsub.publish(channel, { n: 1, at: 'x' });
        expect(onA).toEqual([{ n: 1, at: 'x' }]);
        await eventually(() => expect(onB).toEqual([{ n: 1, at: 'x' }]));
        await offB();
        await b.pubsub.publish(channel, { n: 2 });
        await eventually(() => expect(onA).toEqual([{ n: 1, at: 'x' }, { n: 2 }]));
        expect(onB).toEqual([{ n: 1, at: 'x' }]);
        await offA();
      });
    });

    describe('Counters', () => {
      it('take() allows exactly the limit of 10× concurrent calls split across both instances', async () => {
        const { a, b } = peers();
        const counter = key('take');
        const limit = 25;
        const results = await Promise.all(Array.from({ length: limit * 10 }, (_, i) => (i % 2 ? a : b).counters.take(counter, limit, 10_000)));
        expect(results.filter((result) => result.allowed)).toHaveLength(limit);
        expect(results.filter((result) => result.allowed).map((result) => result.remaining).sort((x, y) => x - y)).toEqual(
          Array.from({ length: limit }, (_, i) => i),
        );
        for (const result of results) expect(result.resetMs).toBeGreaterThan(0);
        for (const result of results) expect(result.resetMs).toBeLessThanOrEqual(10_000);
      });

      it('starts a new window when the old one ends, and incr() sums across instances', async () => {
        const { a, b } = peers();
        const counter = key('window');
        // A window long enough that a stall of the machine between the first two takes does not end it.
        expect((await a.counters.take(counter, 1, 2_000)).allowed).toBe(true);
        expect((await b.counters.take(counter, 1, 2_000)).allowed).toBe(false);
        await sleep(2_100);
        expect((await b.counters.take(counter, 1, 2_000)).allowed).toBe(true);
        const total = key('incr');
        await Promise.all([a.counters.incr(total, 2, 10_000), b.counters.incr(total, 3, 10_000)]);
        expect(await a.counters.incr(total, 0, 10_000)).toBe(5);
      });

      it('giveBack() uncounts what a take counted, on any instance, never below zero, keeping the window', async () => {
        const { a, b } = peers();
        const counter = key('give-back');
        expect((await a.counters.take(counter, 2, 10_000)).allowed).toBe(true);
        expect((await b.counters.take(counter, 2, 10_000)).remaining).toBe(0);
        await b.counters.giveBack(counter);
        const again = await a.counters.take(counter, 2, 10_000);
        expect(again).toMatchObject({ allowed: true, remaining: 0 });
        await Promise.all([a.counters.giveBack(counter, 2), b.counters.giveBack(counter, 2)]);
        expect(await a.counters.incr(counter, 0, 10_000)).toBe(0);
        // The window that was open goes on: its end did not move.
        expect((await b.counters.take(counter, 2, 10_000)).resetMs).toBeLessThanOrEqual(again.resetMs);
        const untouched = key('never-counted');
        await a.counters.giveBack(untouched);
        expect(await a.counters.incr(untouched, 0, 10_000)).toBe(0);
      });
    });

    describe('Cache', () => {
      it('shows a set or a delete made on one instance to the other, and forgets after the ttl', async () => {
        const { a, b } = peers();
        const entry = key('cache');
        await a.cache.set(entry, { plan: 'pro', seats: 3 }, 5000);
        expect(await b.cache.get(entry)).toEqual({ plan: 'pro', seats: 3 });
        await b.cache.del(entry);
        expect(await a.cache.get(entry)).toBeUndefined();
        await a.cache.set(entry, 1, 100);
        await sleep(200);
        expect(await b.cache.get(entry)).toBeUndefined();
      });
    });

    describe('Rendezvous', () => {
      it('resolves a wait on one instance with a signal from the other', async () => {
        const { a, b } = peers();
        const point = key('rdv');
        const waiting = a.rendezvous.wait(point, 3000);
        await sleep(50);
        await b.rendezvous.signal(point, { status: 'delivered' });
        expect(await waiting).toEqual({ status: 'delivered' });
      });

      it('keeps a signal that comes first, and times out with undefined when none comes', async () => {
        const { a, b } = peers();
        const point = key('rdv-early');
        await b.rendezvous.signal(point, 'read');
        expect(await a.rendezvous.wait(point, 1000)).toBe('read');
        const started = Date.now();
        expect(await a.rendezvous.wait(key('rdv-never'), 150)).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      });
    });

    describe('Bus', () => {
      it('runs a command on the named instance and carries its reply back', async () => {
        const { a, b } = peers();
        b.bus.handle('contract.echo', (payload) => ({ echo: payload, on: b.cluster.instanceId }));
        await expect(a.bus.request(b.cluster.instanceId, 'contract.echo', { x: [1, 2] }, 2000)).resolves.toEqual({
          echo: { x: [1, 2] },
          on: b.cluster.instanceId,
        });
      });

      it("carries the handler's own failure back with its code and status", async () => {
        const { a, b } = peers();
        b.bus.handle('contract.missing', () => {
          throw new NotFoundError('session_not_found', 'No session "s1".');
        });
        b.bus.handle('contract.broken', () => {
          throw new Error('internal detail that must not travel');
        });
        const missing = a.bus.request(b.cluster.instanceId, 'contract.missing', {}, 2000);
        await expect(missing).rejects.toBeInstanceOf(BusRemoteError);
        await expect(missing).rejects.toMatchObject({ code: 'session_not_found', status: 404, message: 'No session "s1".' });
        const broken = a.bus.request(b.cluster.instanceId, 'contract.broken', {}, 2000);
        await expect(broken).rejects.toMatchObject({ code: 'internal_error', status: 500 });
        await expect(broken).rejects.not.toMatchObject({ message: expect.stringContaining('internal detail') });
        await expect(a.bus.request(b.cluster.instanceId, 'contract.nobody', {}, 2000)).rejects.toMatchObject({ code: 'unknown_command' });
      });

      it('times out, refuses unknown instances and oversized payloads with typed errors', async () => {
        const { a, b } = peers();
        b.bus.handle('contract.slow', () => sleep(1000).then(() => 'late'));
        const started = Date.now();
        await expect(a.bus.request(b.cluster.instanceId, 'contract.slow', {}, 150)).rejects.toBeInstanceOf(BusTimeoutError);
        expect(Date.now() - started).toBeLessThan(900);
        await expect(a.bus.request('no-such-instance', 'contract.echo', {}, 1000)).rejects.toBeInstanceOf(BusUnknownInstanceError);
        await expect(a.bus.request(b.cluster.instanceId, 'contract.echo', 'x'.repeat(70_000), 1000)).rejects.toBeInstanceOf(BusPayloadTooLargeError);
        b.bus.handle('contract.huge', () => 'y'.repeat(70_000));
        await expect(a.bus.request(b.cluster.instanceId, 'contract.huge', {}, 2000)).rejects.toMatchObject({ code: 'bus_payload_too_large', status: 413 });
      });
    });

    describe('arguments', () => {
      it('refuses a ttl, window, limit or cost that is not a whole number the same way on every binding', async () => {
        const { a } = peers();
        for (const call of [
          () => a.lock.acquire(key('bad'), 0),
          () => a.lock.acquire(key('bad'), 1.5),
          () => a.lock.extend(key('bad'), 'token', -1),
          () => a.cache.set(key('bad'), 1, 0),
          () => a.counters.take(key('bad'), 1, 1000.5),
          () => a.counters.take(key('bad'), -1, 1000),
          () => a.counters.take(key('bad'), 1, 1000, 0),
          () => a.counters.incr(key('bad'), 0.5, 1000),
        ]) {
          await expect(call()).rejects.toBeInstanceOf(RangeError);
        }
      });

      it('stores undefined as null, as JSON does', async () => {
        const { a, b } = peers();
        const entry = key('undefined');
        await a.cache.set(entry, undefined, 5000);
        expect(await b.cache.get(entry)).toBeNull();
      });
    });

    describe('Cluster', () => {
      it('lists both instances with their version, start time and reports', async () => {
        const { a, b } = peers();
        b.cluster.report('capacity', 50);
        await eventually(async () => {
          const instances = await a.cluster.instances();
          const ids = instances.map((instance) => instance.id);
          expect(ids).toEqual(expect.arrayContaining([a.cluster.instanceId, b.cluster.instanceId]));
          const other = instances.find((instance) => instance.id === b.cluster.instanceId)!;
          expect(other).toMatchObject({ version: expect.any(String), reports: { capacity: 50 } });
          expect(Date.now() - new Date(other.heartbeatAt).getTime()).toBeLessThan(5000);
          expect(new Date(other.startedAt).getTime()).toBeLessThanOrEqual(new Date(other.heartbeatAt).getTime());
        });
      });
    });
  });
}
