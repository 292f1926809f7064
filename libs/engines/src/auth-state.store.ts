import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from 'baileys';
import { LRUCache } from 'lru-cache';
import type { DataSource, EntityManager } from 'typeorm';
import { StaleEpochError } from './auth-state.errors';

/** The row that holds the creds object; key types never collide with it. */
const CREDS_TYPE = 'creds';
const CREDS_ID = '';

export type SignalKeyType = keyof SignalDataTypeMap;

/** Keys a store remembers at most: the Signal sessions and tokens of the chats it talks to most. */
const CACHED_KEYS = 2_000;
/**
 * And at most this many characters of their JSON (UTF-16: about twice as many bytes), so a session
 * costs at most about 2 MB more however many chats it has: a Signal session's JSON is a few thousand
 * characters, so some hundreds of the most recent chats.
 */
const CACHED_CHARS = 1024 * 1024;
/** What the cache holds for a key known not to exist. */
const ABSENT = '';

/**
 * A session's Baileys auth state (creds and Signal keys) in the `session_auth_state` table, one row per
 * key, so that the session can resume on any replica without a new QR scan.
 *
 * Every write is fenced on the epoch the caller holds: it locks the session row only where `lease_epoch`
 * is that epoch, and writes nothing unless it did. Once another replica has claimed the session (and so
 * bumped the epoch) nothing this store writes can land, and it throws {@link StaleEpochError} instead —
 * the engine stops on it. Reads are not fenced: a stale owner reading changes nothing.
 *
 * Keys read or written are remembered (as the JSON the row holds, absent ones too), so the reads Baileys
 * makes for every message it sends or receives (the chat's Signal session, its tctoken) cost no round
 * trip. That is sound because while the epoch holds only this store writes the session's keys: a write
 * is remembered once it has committed, one that failed is forgotten (it may or may not have landed), and
 * a new owner starts with a new store.
 */
export class AuthStateStore {
  private readonly epoch: string;
  /** `type` NUL `id` → the row's JSON, or ABSENT. */
  private readonly cache = new LRUCache<string, string>({ max: CACHED_KEYS, maxSize: CACHED_CHARS, sizeCalculation: (json) => Math.max(1, json.length) });
  /** Counts writes begun: a read that saw a write begin meanwhile may hold what it replaced, and is not remembered. */
  private writesBegun = 0;

  constructor(
    private readonly dataSource: DataSource,
    readonly sessionId: string,
    fenceEpoch: number | bigint,
  ) {
    // Compared as text against the bigint column, so an epoch past 2^53 needs a bigint, never a rounded number.
    if (typeof fenceEpoch === 'number' ? !Number.isSafeInteger(fenceEpoch) || fenceEpoch < 0 : fenceEpoch < 0n) {
      throw new TypeError(`fenceEpoch must be a non-negative integer, got ${String(fenceEpoch)}.`);
    }
    this.epoch = String(fenceEpoch);
  }

  /** The fencing epoch this store writes under, as PostgreSQL prints the bigint. */
  get fenceEpoch(): string {
    return this.epoch;
  }

  /**
   * The state to hand to `makeWASocket({ auth })`. Fresh creds (`initAuthCreds()`) when none were saved;
   * they are not written until {@link saveCreds}, so a session that never pairs leaves no row.
   */
  async load(): Promise<AuthenticationState> {
    const rows: { value: string }[] = await this.dataSource.query(
      `SELECT value FROM session_auth_state WHERE session_id = $1 AND type = $2 AND id = $3`,
      [this.sessionId, CREDS_TYPE, CREDS_ID],
    );
    const creds: AuthenticationCreds = rows[0] ? parse(rows[0].value) : initAuthCreds();
    return {
      creds,
      keys: {
        get: (type, ids) => this.getKeys(type, ids),
        set: (data) => this.setKeys(data),
      },
    };
  }

  /** Persists the whole creds object: Baileys mutates it in place and `creds.update` carries only a diff. */
  async saveCreds(creds: AuthenticationCreds): Promise<void> {
    await this.write([[CREDS_TYPE, CREDS_ID, stringify(creds)]], []);
  }

  /** Removes the creds and every key (logout), fenced like any write. */
  async wipe(): Promise<void> {
    this.writesBegun++;
    this.cache.clear();
    await this.fenced(async (manager) => {
      await manager.query(`DELETE FROM session_auth_state WHERE session_id = $1`, [this.sessionId]);
      // What the account received and was never stored goes with its link: no later link reports it.
      await manager.query(`DELETE FROM inbound_stanzas WHERE session_id = $1`, [this.sessionId]);
    });
  }

  /**
   * Values for the ids that exist, each a fresh object; missing ids are simply absent from the result.
   * Ids not remembered are read in one query.
   */
  async getKeys<T extends SignalKeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const found: { [id: string]: SignalDataTypeMap[T] } = {};
    const unknown: string[] = [];
    for (const id of ids) {
      const json = this.cache.get(cacheKey(type, id));
      if (json === undefined) unknown.push(id);
      else if (json !== ABSENT) found[id] = revive(type, parse(json));
    }
    if (unknown.length === 0) return found;
    const writesBefore = this.writesBegun;
    const rows: { id: string; value: string }[] = await this.dataSource.query(
      `SELECT id, value FROM session_auth_state WHERE session_id = $1 AND type = $2 AND id = ANY($3::text[])`,
      [this.sessionId, type, unknown],
    );
    const read = new Map(rows.map((row) => [row.id, row.value]));
    for (const id of unknown) {
      const json = read.get(id);
      if (this.writesBegun === writesBefore) this.cache.set(cacheKey(type, id), json ?? ABSENT);
      if (json !== undefined) found[id] = revive(type, parse(json));
    }
    return found;
  }

  /**
   * Writes and deletes (a `null` value) everything in `data` in one fenced statement, so a half-applied
   * Signal update — a session stored without the pre-key removal that went with it — cannot happen.
   */
  async setKeys(data: SignalDataSet): Promise<void> {
    const writes: Row[] = [];
    const deletes: [type: string, id: string][] = [];
    for (const [type, values] of Object.entries(data)) {
      for (const [id, value] of Object.entries(values ?? {})) {
        if (value === null || value === undefined) deletes.push([type, id]);
        else writes.push([type, id, stringify(value)]);
      }
    }
    if (writes.length === 0 && deletes.length === 0) return;
    this.writesBegun++;
    try {
      await this.write(writes, deletes);
    } catch (error) {
      // It may have committed before the error reached us: read those keys from the database next time.
      for (const [type, id] of [...deletes, ...writes]) this.cache.delete(cacheKey(type, id));
      throw error;
    }
    for (const [type, id] of deletes) this.cache.set(cacheKey(type, id), ABSENT);
    for (const [type, id, json] of writes) this.cache.set(cacheKey(type, id), json);
  }

  /**
   * Deletes and upserts keys in one statement, so a half-applied Signal update cannot happen and the
   * fence costs no round trips of its own (a transaction of its own took four per write, and Baileys
   * writes keys for every message it sends). `fence` locks the session row only at this store's epoch,
   * as {@link fenced} does; the delete and the upsert write through it, so a claim that moved the epoch
   * first leaves them nothing to write, and a claim in progress makes the statement wait for it and then
   * read the new epoch. One upsert for any number of rows: a batch of hundreds of pre-keys is one round trip.
   */
  private async write(writes: Row[], deletes: [type: string, id: string][]): Promise<void> {
    const rows: { held: boolean }[] = await this.dataSource.query(
      `WITH fence AS (SELECT id AS session_id FROM sessions WHERE id = $1 AND lease_epoch = $2::bigint FOR UPDATE),
       removed AS (
         DELETE FROM session_auth_state s USING fence
          WHERE s.session_id = fence.session_id AND (s.type, s.id) IN (SELECT * FROM unnest($3::text[], $4::text[]))),
       written AS (
         INSERT INTO session_auth_state (session_id, type, id, value)
         SELECT fence.session_id, row.type, row.id, row.value FROM fence, unnest($5::text[], $6::text[], $7::text[]) AS row (type, id, value)
         ON CONFLICT (session_id, type, id) DO UPDATE SET value = EXCLUDED.value)
       SELECT EXISTS (SELECT 1 FROM fence) AS held`,
      [
        this.sessionId,
        this.epoch,
        deletes.map(([type]) => type),
        deletes.map(([, id]) => id),
        writes.map(([type]) => type),
        writes.map(([, id]) => id),
        writes.map(([, , value]) => value),
      ],
    );
    if (rows[0]?.held) return;
    const current: { epoch: string }[] = await this.dataSource.query(`SELECT lease_epoch::text AS epoch FROM sessions WHERE id = $1`, [this.sessionId]);
    throw new StaleEpochError(this.sessionId, this.epoch, current[0]?.epoch ?? null);
  }

  /**
   * Runs `work` in a transaction that holds the session row `FOR UPDATE` after checking its epoch. The lock
   * makes a concurrent claim (which bumps the epoch with an UPDATE) wait for this write to commit, so a
   * write never lands after the claim; it also serialises this session's writes, which one owner makes
   * anyway.
   */
  private async fenced(work: (manager: EntityManager) => Promise<unknown>): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const rows: { epoch: string }[] = await manager.query(
        `SELECT lease_epoch::text AS epoch FROM sessions WHERE id = $1 FOR UPDATE`,
        [this.sessionId],
      );
      const current = rows[0]?.epoch ?? null;
      // Any other epoch means another claim happened (or the row is gone): this caller is not the owner.
      if (current !== this.epoch) throw new StaleEpochError(this.sessionId, this.epoch, current);
      await work(manager);
    });
  }
}

type Row = [type: string, id: string, value: string];

const cacheKey = (type: string, id: string) => `${type}\u0000${id}`;

// Without BufferJSON the key material (Buffers, Uint8Arrays) would not come back as bytes.
function stringify(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

function parse<T>(text: string): T {
  return JSON.parse(text, BufferJSON.reviver) as T;
}

/** Baileys expects app-state sync keys as protobuf messages, not the plain objects JSON gives back. */
function revive<T extends SignalKeyType>(type: T, value: SignalDataTypeMap[T]): SignalDataTypeMap[T] {
  if (type === 'app-state-sync-key') {
    const key: SignalDataTypeMap['app-state-sync-key'] = proto.Message.AppStateSyncKeyData.fromObject(value as object);
    return key as SignalDataTypeMap[T];
  }
  return value;
}
