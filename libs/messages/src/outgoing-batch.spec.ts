import type { NewOutgoing } from './message-rows';
import type { MessageRow } from './message.view';
import { OutgoingBatch } from './outgoing-batch';

const message = (id: string): NewOutgoing => ({
  id,
  tenantId: 't',
  sessionId: 's',
  waId: `wa-${id}`,
  chat: 'c',
  kind: 'text',
  body: id,
  content: {},
  quotedId: null,
  idempotencyKey: null,
  requestHash: null,
  upload: null,
});
const rowOf = (m: NewOutgoing) => ({ id: m.id, body: m.body }) as MessageRow;

/** A database whose statements wait until the test lets them go; it records what each one wrote. */
class HeldWrites {
  readonly statements: string[][] = [];
  /** Ids whose statement fails, as one naming a deleted session would. */
  readonly failing = new Set<string>();
  /** Ids a shared statement leaves out of its answer. */
  readonly unanswered = new Set<string>();
  private readonly held: (() => void)[] = [];

  readonly many = (messages: NewOutgoing[]) => this.statement(messages, true);
  readonly one = async (m: NewOutgoing) => (await this.statement([m], false))[0]!;

  private async statement(messages: NewOutgoing[], shared: boolean): Promise<MessageRow[]> {
    this.statements.push(messages.map((m) => m.id));
    await new Promise<void>((resolve) => this.held.push(resolve));
    const bad = messages.find((m) => this.failing.has(m.id));
    if (bad) throw new Error(`session of ${bad.id} is gone`);
    // Answered in another order than asked, as RETURNING may.
    return messages.filter((m) => !shared || !this.unanswered.has(m.id)).map(rowOf).reverse();
  }

  /** Lets every statement held now finish, and what they set off run. */
  async release(): Promise<void> {
    for (const go of this.held.splice(0)) go();
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('OutgoingBatch', () => {
  const batchOver = (db: HeldWrites, maxRows = 100) => new OutgoingBatch(db.many, db.one, { inFlight: 2, maxRows });

  it('writes at once while a statement slot is free, and together what arrives while both are busy', async () => {
    const db = new HeldWrites();
    const batch = batchOver(db);
    const written = ['a', 'b', 'c', 'd', 'e'].map((id) => batch.write(message(id)));
    expect(db.statements).toEqual([['a'], ['b']]);
    await db.release();
    expect(db.statements).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    await db.release();
    expect((await Promise.all(written)).map((row) => row.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('puts no more than maxRows in one statement', async () => {
    const db = new HeldWrites();
    const batch = batchOver(db, 2);
    const written = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => batch.write(message(id)));
    await db.release();
    await db.release();
    expect(db.statements).toEqual([['a'], ['b'], ['c', 'd'], ['e', 'f'], ['g']]);
    await db.release();
    expect(await Promise.all(written)).toHaveLength(7);
  });

  it('writes each message of a failed shared statement alone, one after another, so only the one at fault gets the error', async () => {
    const db = new HeldWrites();
    db.failing.add('d');
    const batch = batchOver(db);
    const written = ['a', 'b', 'c', 'd', 'e'].map((id) => batch.write(message(id)).then((row) => row.id, (error: Error) => error.message));
    await db.release();
    await db.release();
    expect(db.statements.slice(2)).toEqual([['c', 'd', 'e'], ['c']]);
    await db.release();
    await db.release();
    await db.release();
    expect(db.statements.slice(2)).toEqual([['c', 'd', 'e'], ['c'], ['d'], ['e']]);
    expect(await Promise.all(written)).toEqual(['a', 'b', 'c', 'session of d is gone', 'e']);
  });

  it('writes alone a message the shared answer left out', async () => {
    const db = new HeldWrites();
    db.unanswered.add('c');
    const batch = batchOver(db);
    const written = ['a', 'b', 'c', 'd'].map((id) => batch.write(message(id)));
    await db.release();
    await db.release();
    await db.release();
    expect(db.statements.slice(2)).toEqual([['c', 'd'], ['c']]);
    expect((await Promise.all(written)).map((row) => row.body)).toEqual(['a', 'b', 'c', 'd']);
  });
});
