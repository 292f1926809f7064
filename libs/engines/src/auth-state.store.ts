import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from 'baileys';
import type { DataSource, EntityManager } from 'typeorm';
import { StaleEpochError } from './auth-state.errors';

/** The row that holds the creds object; key types never collide with it. */
const CREDS_TYPE = 'creds';
const CREDS_ID = '';

export type SignalKeyType = keyof SignalDataTypeMap;

/**
 * A session's Baileys auth state (creds and Signal keys) in the `session_auth_state` table, one row per
 * key, so that the session can resume on any replica without a new QR scan.
 *
 * Every write is fenced on the epoch the caller holds: it runs in a transaction that first locks the
 * session row and compares `lease_epoch`. Once another replica has claimed the session (and so bumped
 * the epoch) nothing this store writes can land, and it throws {@link StaleEpochError} instead — the
 * engine stops on it. Reads are not fenced: a stale owner reading changes nothing.
 */
export class AuthStateStore {
  private readonly epoch: string;

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
    await this.fenced((manager) => upsert(manager, this.sessionId, [[CREDS_TYPE, CREDS_ID, stringify(creds)]]));
  }

  /** Removes the creds and every key (logout), fenced like any write. */
  async wipe(): Promise<void> {
    await this.fenced((manager) => manager.query(`DELETE FROM session_auth_state WHERE session_id = $1`, [this.sessionId]));
  }

  /** Values for the ids that exist, in one query; missing ids are simply absent from the result. */
  async getKeys<T extends SignalKeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const found: { [id: string]: SignalDataTypeMap[T] } = {};
    if (ids.length === 0) return found;
    const rows: { id: string; value: string }[] = await this.dataSource.query(
      `SELECT id, value FROM session_auth_state WHERE session_id = $1 AND type = $2 AND id = ANY($3::text[])`,
      [this.sessionId, type, ids],
    );
    for (const row of rows) found[row.id] = revive(type, parse(row.value));
    return found;
  }

  /**
   * Writes and deletes (a `null` value) everything in `data` in one fenced transaction, so a half-applied
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
    await this.fenced(async (manager) => {
      if (deletes.length) {
        await manager.query(
          `DELETE FROM session_auth_state
            WHERE session_id = $1 AND (type, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          [this.sessionId, deletes.map(([type]) => type), deletes.map(([, id]) => id)],
        );
      }
      if (writes.length) await upsert(manager, this.sessionId, writes);
    });
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

/** One statement for any number of rows, so a batch of hundreds of pre-keys is one round trip. */
async function upsert(manager: EntityManager, sessionId: string, rows: Row[]): Promise<void> {
  await manager.query(
    `INSERT INTO session_auth_state (session_id, type, id, value)
     SELECT $1::uuid, type, id, value FROM unnest($2::text[], $3::text[], $4::text[]) AS row (type, id, value)
     ON CONFLICT (session_id, type, id) DO UPDATE SET value = EXCLUDED.value`,
    [sessionId, rows.map(([type]) => type), rows.map(([, id]) => id), rows.map(([, , value]) => value)],
  );
}

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
