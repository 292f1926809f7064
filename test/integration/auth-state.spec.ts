import { randomBytes, randomUUID } from 'node:crypto';
import { Curve, initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet } from 'baileys';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { DomainError } from '@wafleet/core';
import { AuthStateStore, StaleEpochError } from '@wafleet/engines';
import { migratedDatabase, TestDatabase } from '../support/postgres';
import { until } from '../support/wait';

const bytes = (length: number) => new Uint8Array(randomBytes(length));

/** One value of every key type Baileys stores, with real key material where it is cheap to make. */
function everyKeyType(): SignalDataSet {
  return {
    'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() },
    session: { '5511999990001.0': bytes(180) },
    'sender-key': { '120363000000000001@g.us::5511999990001::0': bytes(120) },
    'sender-key-memory': { '120363000000000001@g.us': { '5511999990001:3@s.whatsapp.net': true, '5511999990002@s.whatsapp.net': false } },
    'app-state-sync-key': {
      AAAAAHj5: proto.Message.AppStateSyncKeyData.fromObject({
        keyData: randomBytes(32),
        fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 1, 4] },
        timestamp: 1763900000123,
      }),
    },
    'app-state-sync-version': {
      critical_block: { version: 12, hash: randomBytes(128), indexValueMap: { '3q2+7w==': { valueMac: bytes(32) }, 'xyz/+w==': { valueMac: randomBytes(32) } } },
    },
    'lid-mapping': { '5511999990001': '150000000000001', '150000000000001_reverse': '5511999990001' },
    'device-list': { '5511999990001': ['0', '3', '21'] },
    tctoken: { '5511999990001@s.whatsapp.net': { token: randomBytes(24), timestamp: '1763900000' } },
    'identity-key': { '5511999990001.0': Buffer.concat([Buffer.from([5]), Curve.generateKeyPair().public]) },
  };
}

describe('AuthStateStore on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let otherSource: DataSource;
  let tenantId: string;

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    otherSource = await new DataSource({ type: 'postgres', url: database.url }).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await otherSource?.destroy();
    await database?.drop();
  });

  async function createSession(epoch = 3): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, lease_epoch) VALUES ($1, $2, $3, $4)`, [id, tenantId, `s-${id}`, epoch]);
    return id;
  }
  const rowsOf = (sessionId: string) =>
    database.query<{ type: string; id: string; value: string }>(
      `SELECT type, id, value FROM session_auth_state WHERE session_id = $1 ORDER BY type, id`,
      [sessionId],
    );

  it('gives fresh creds when none are saved, writes nothing until saved, and reloads saved creds identically', async () => {
    const sessionId = await createSession();
    const { creds } = await new AuthStateStore(dataSource, sessionId, 3).load();
    expect(creds.noiseKey.private).toHaveLength(32);
    expect(creds.registered).toBe(false);
    expect(await rowsOf(sessionId)).toEqual([]);

    // What a paired session's creds look like: Baileys filled these in place before creds.update.
    creds.me = { id: '5511999990001:3@s.whatsapp.net', lid: '150000000000001:3@lid', name: 'Ana' };
    creds.account = { details: randomBytes(40), accountSignatureKey: bytes(32), accountSignature: randomBytes(64), deviceSignature: bytes(64) };
    creds.signalIdentities = [{ identifier: { name: '5511999990001:3@s.whatsapp.net', deviceId: 0 }, identifierKey: bytes(33) }];
    creds.routingInfo = randomBytes(12);
    creds.nextPreKeyId = 31;
    creds.firstUnuploadedPreKeyId = 31;
    await new AuthStateStore(dataSource, sessionId, 3).saveCreds(creds);

    const reloaded = (await new AuthStateStore(otherSource, sessionId, 3).load()).creds;
    expect(reloaded).toEqual(creds);
    expect(Buffer.from(reloaded.noiseKey.private).equals(Buffer.from(creds.noiseKey.private))).toBe(true);
    expect(Buffer.from(reloaded.account!.accountSignatureKey!).equals(Buffer.from(creds.account.accountSignatureKey!))).toBe(true);
    expect(Buffer.from(reloaded.signalIdentities![0]!.identifierKey).equals(Buffer.from(creds.signalIdentities[0]!.identifierKey))).toBe(true);
    expect((await rowsOf(sessionId)).map(({ type, id }) => [type, id])).toEqual([['creds', '']]);
  });

  it('round-trips every key type, bytes included, and leaves missing ids out of get', async () => {
    const sessionId = await createSession();
    const data = everyKeyType();
    await (await new AuthStateStore(dataSource, sessionId, 3).load()).keys.set(data);

    const { keys } = await new AuthStateStore(otherSource, sessionId, 3).load();
    for (const [type, values] of Object.entries(data) as [keyof SignalDataSet, Record<string, unknown>][]) {
      const ids = Object.keys(values);
      const got = await keys.get(type, [...ids, 'missing-id']);
      expect(Object.keys(got).sort()).toEqual([...ids].sort());
      if (type !== 'app-state-sync-key') expect(got).toEqual(values);
    }
    expect(await rowsOf(sessionId)).toHaveLength(Object.values(data).reduce((n, values) => n + Object.keys(values).length, 0));

    const session = (await keys.get('session', ['5511999990001.0']))['5511999990001.0']!;
    expect(Buffer.from(session).equals(Buffer.from(data.session!['5511999990001.0']!))).toBe(true);
    const preKey = (await keys.get('pre-key', ['1']))['1']!;
    expect(Buffer.from(preKey.private).equals(Buffer.from(data['pre-key']!['1']!.private))).toBe(true);
    const version = (await keys.get('app-state-sync-version', ['critical_block'])).critical_block!;
    expect(Buffer.isBuffer(version.hash)).toBe(true);
    expect(Buffer.from(version.indexValueMap['3q2+7w==']!.valueMac).equals(Buffer.from(data['app-state-sync-version']!.critical_block!.indexValueMap['3q2+7w==']!.valueMac))).toBe(true);

    const original = data['app-state-sync-key']!.AAAAAHj5!;
    const syncKey = (await keys.get('app-state-sync-key', ['AAAAAHj5'])).AAAAAHj5!;
    expect(syncKey).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(syncKey.keyData!).equals(Buffer.from(original.keyData!))).toBe(true);
    expect(syncKey.fingerprint).toBeInstanceOf(proto.Message.AppStateSyncKeyFingerprint);
    expect(syncKey.fingerprint).toEqual(original.fingerprint);
    expect(String(syncKey.timestamp)).toBe('1763900000123');
  });

  it('returns nothing for ids that were never written', async () => {
    const sessionId = await createSession();
    const { keys } = await new AuthStateStore(dataSource, sessionId, 3).load();
    // Compared as keys: toEqual({}) would also accept ids present with the value undefined.
    expect(Object.keys(await keys.get('pre-key', ['1', '2']))).toEqual([]);
    expect(Object.keys(await keys.get('pre-key', []))).toEqual([]);
  });

  it('deletes keys set to null, in the same call as writes', async () => {
    const sessionId = await createSession();
    const { keys } = await new AuthStateStore(dataSource, sessionId, 3).load();
    await keys.set({ 'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() }, session: { a: bytes(10) } });
    const replacement = bytes(11);
    await keys.set({ 'pre-key': { '1': null }, session: { a: replacement, b: null } });
    expect(Object.keys(await keys.get('pre-key', ['1', '2']))).toEqual(['2']);
    expect(await keys.get('session', ['a', 'b'])).toEqual({ a: Buffer.from(replacement) });
  });

  it('applies a set as one transaction: a failing write undoes the deletes that came with it', async () => {
    const sessionId = await createSession();
    const { keys } = await new AuthStateStore(dataSource, sessionId, 3).load();
    await keys.set({ 'pre-key': { '1': Curve.generateKeyPair() } });
    const before = await rowsOf(sessionId);
    // A type longer than the column allows makes the insert fail after the delete ran.
    const broken = { 'pre-key': { '1': null }, ['x'.repeat(41)]: { a: 'b' } } as unknown as SignalDataSet;
    await expect(keys.set(broken)).rejects.toThrow(/too long/);
    expect(await rowsOf(sessionId)).toEqual(before);
  });

  it('refuses every write once the epoch moved on, writing nothing', async () => {
    const sessionId = await createSession(3);
    const stale = new AuthStateStore(dataSource, sessionId, 3);
    const state = await stale.load();
    await stale.saveCreds(state.creds);
    await state.keys.set({ 'pre-key': { '1': Curve.generateKeyPair() } });
    const before = await rowsOf(sessionId);

    await database.query(`UPDATE sessions SET lease_epoch = lease_epoch + 1 WHERE id = $1`, [sessionId]);
    const changed = { ...state.creds, nextPreKeyId: 999 } as AuthenticationCreds;
    const errors = await Promise.all(
      [
        Promise.resolve(state.keys.set({ 'pre-key': { '1': null, '2': Curve.generateKeyPair() } })),
        stale.saveCreds(changed),
        stale.wipe(),
      ].map((attempt) => attempt.then(() => undefined, (e: unknown) => e)),
    );
    for (const error of errors) {
      expect(error).toBeInstanceOf(StaleEpochError);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'stale_epoch', status: 409, heldEpoch: '3', currentEpoch: '4' });
    }
    expect(await rowsOf(sessionId)).toEqual(before);

    const owner = new AuthStateStore(dataSource, sessionId, 4);
    await owner.saveCreds(changed);
    expect((await owner.load()).creds.nextPreKeyId).toBe(999);
  });

  it('refuses a write that waited on a claim in progress, once the claim commits', async () => {
    const sessionId = await createSession(3);
    const store = new AuthStateStore(dataSource, sessionId, 3);
    const claimer = new pg.Client({ connectionString: database.url });
    await claimer.connect();
    try {
      await claimer.query('BEGIN');
      await claimer.query(`UPDATE sessions SET lease_epoch = lease_epoch + 1 WHERE id = $1`, [sessionId]);
      const write = store.saveCreds(initAuthCreds()).then(() => undefined, (e: unknown) => e);
      // The write must be blocked on the claim's row lock before the claim commits, or this shows nothing.
      await until('the write waiting for the claim', async () => {
        const waiting = await database.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO session_auth_state%'`,
        );
        return waiting.length > 0;
      });
      await claimer.query('COMMIT');
      expect(await write).toBeInstanceOf(StaleEpochError);
    } finally {
      await claimer.end();
    }
    expect(await rowsOf(sessionId)).toEqual([]);
  });

  it('refuses writes for a session that no longer exists', async () => {
    const sessionId = await createSession(3);
    await database.query(`DELETE FROM sessions WHERE id = $1`, [sessionId]);
    await expect(new AuthStateStore(dataSource, sessionId, 3).saveCreds(initAuthCreds())).rejects.toMatchObject({
      code: 'stale_epoch',
      currentEpoch: null,
    });
  });

  it('wipe() removes the creds and every key of that session only', async () => {
    const sessionId = await createSession();
    const neighbourId = await createSession();
    for (const id of [sessionId, neighbourId]) {
      const store = new AuthStateStore(dataSource, id, 3);
      const state = await store.load();
      await store.saveCreds(state.creds);
      await state.keys.set(everyKeyType());
    }
    const neighbourRows = await rowsOf(neighbourId);
    const store = new AuthStateStore(dataSource, sessionId, 3);
    const savedNoiseKey = (await store.load()).creds.noiseKey.private;

    await store.wipe();
    expect(await rowsOf(sessionId)).toEqual([]);
    expect(await rowsOf(neighbourId)).toEqual(neighbourRows);
    const fresh = await store.load();
    expect(Buffer.from(fresh.creds.noiseKey.private).equals(Buffer.from(savedNoiseKey))).toBe(false);
    expect(await fresh.keys.get('pre-key', ['1', '2'])).toEqual({});
  });

  it('loses no write when two stores with the same epoch set keys concurrently', async () => {
    const sessionId = await createSession();
    const stores = [new AuthStateStore(dataSource, sessionId, 3), new AuthStateStore(otherSource, sessionId, 3)];
    const key = (i: number) => Buffer.from(`key-${i}`);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        // Every call also rewrites one shared id, so the calls collide on a row as well as on the fence.
        stores[i % 2]!.setKeys({ 'sender-key': { [`group::${i}`]: key(i), 'group::shared': key(i) } }),
      ),
    );
    const ids = Array.from({ length: 40 }, (_, i) => `group::${i}`);
    const got = await stores[0]!.getKeys('sender-key', [...ids, 'group::shared']);
    for (const [i, id] of ids.entries()) expect(got[id]).toEqual(key(i));
    expect(ids.map((_, i) => key(i).toString())).toContain(Buffer.from(got['group::shared']!).toString());
    expect(await rowsOf(sessionId)).toHaveLength(41);
  });

  /** The SELECTs of keys `source` runs from now on; `hold` keeps each one back until the test lets it go. */
  function keyReads(source: DataSource, hold = false) {
    const reads: unknown[][] = [];
    const held: (() => void)[] = [];
    const original = source.query;
    const query = original.bind(source);
    source.query = (async (sql: string, parameters?: unknown[]) => {
      if (!/^SELECT id, value FROM session_auth_state/.test(sql)) return query(sql, parameters);
      reads.push(parameters ?? []);
      const answer = await query(sql, parameters);
      if (hold) await new Promise<void>((resolve) => held.push(resolve));
      return answer;
    }) as DataSource['query'];
    return {
      reads,
      /** Reads answered by the database and held back from their caller until {@link release}. */
      holding: () => held.length,
      release: () => held.splice(0).forEach((go) => go()),
      restore: () => void (source.query = original),
    };
  }

  it('reads a key from the database once, present or absent, and each read gets an object of its own', async () => {
    const sessionId = await createSession(3);
    const { keys } = await new AuthStateStore(dataSource, sessionId, 3).load();
    await keys.set({ 'device-list': { '5511999990001': ['0', '3'] } });
    // Another store of the same epoch wrote this one: the first read goes to the database.
    await (await new AuthStateStore(dataSource, sessionId, 3).load()).keys.set({ session: { '5511999990002.0': bytes(40) } });
    const reads = keyReads(dataSource);
    try {
      for (let i = 0; i < 3; i++) {
        expect(await keys.get('device-list', ['5511999990001'])).toEqual({ '5511999990001': ['0', '3'] });
        expect(await keys.get('tctoken', ['5511999990009@s.whatsapp.net'])).toEqual({});
        expect(Object.keys(await keys.get('session', ['5511999990002.0']))).toEqual(['5511999990002.0']);
      }
      expect(reads.reads).toEqual([
        [sessionId, 'tctoken', ['5511999990009@s.whatsapp.net']],
        [sessionId, 'session', ['5511999990002.0']],
      ]);
      const first = await keys.get('device-list', ['5511999990001']);
      first['5511999990001']!.push('99');
      expect(await keys.get('device-list', ['5511999990001'])).toEqual({ '5511999990001': ['0', '3'] });
    } finally {
      reads.restore();
    }
  });

  it('remembers deletes, forgets a write that failed, and does not remember a read that a write overtook', async () => {
    const sessionId = await createSession(3);
    const { keys } = await new AuthStateStore(dataSource, sessionId, 3).load();
    await keys.set({ 'device-list': { a: ['1'], b: ['2'] } });
    await keys.set({ 'device-list': { a: null } });
    expect(await keys.get('device-list', ['a', 'b'])).toEqual({ b: ['2'] });

    // A write refused (the epoch moved on) may not be remembered: the database still has the old value.
    await database.query(`UPDATE sessions SET lease_epoch = 4 WHERE id = $1`, [sessionId]);
    await expect(keys.set({ 'device-list': { b: ['changed'] } })).rejects.toBeInstanceOf(StaleEpochError);
    await database.query(`UPDATE sessions SET lease_epoch = 3 WHERE id = $1`, [sessionId]);
    expect(await keys.get('device-list', ['b'])).toEqual({ b: ['2'] });

    // A write whose error came after it had committed (the connection lost on the way back): read again.
    const query = dataSource.query;
    dataSource.query = (async (sql: string, ...rest: unknown[]) => {
      const result: unknown = await (query as (...a: unknown[]) => Promise<unknown>).call(dataSource, sql, ...rest);
      if (sql.includes('INSERT INTO session_auth_state')) throw new Error('connection lost after the commit');
      return result;
    }) as DataSource['query'];
    try {
      await expect(keys.set({ 'device-list': { b: ['landed'] } })).rejects.toThrow('connection lost');
    } finally {
      dataSource.query = query;
    }
    expect(await keys.get('device-list', ['b'])).toEqual({ b: ['landed'] });

    // A read that began before a write and ends after it: its answer is given, never remembered.
    const held = keyReads(dataSource, true);
    try {
      const read = keys.get('device-list', ['c']);
      // Held once the database has answered it, so the write below lands after that answer was read.
      await until('the read answered and held', () => held.holding() === 1);
      await keys.set({ 'device-list': { c: ['new'] } });
      held.release();
      expect(await read).toEqual({});
      expect(await keys.get('device-list', ['c'])).toEqual({ c: ['new'] });
    } finally {
      held.restore();
    }
  });
});
