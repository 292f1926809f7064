import { cleanMessage, decodeBinaryNode, decryptMessageNode, encodeBinaryNode, isJidStatusBroadcast, type BinaryNode, type SignalRepositoryWithLIDStore, type WAMessage } from 'baileys';
import type { DataSource } from 'typeorm';
import type { EngineLogger } from './baileys.engine';

interface StagedRow {
  stanza_id: string;
  part: number;
  stanza: Buffer;
  plaintext: Buffer;
}

/** Runs a staging write as the engine runs its key writes: refused once fenced off or logged out, awaited by a wipe. */
export type GuardedWrite = (write: () => Promise<void>) => Promise<void>;

/** How many of the stanzas it handed on lately an engine remembers: those may still be on their way to the store. */
const REPORTED_MAX = 10_000;

/**
 * Keeps what Baileys decrypts until it is stored, in `inbound_stanzas`. Baileys acknowledges a received
 * message to WhatsApp (its delivery receipt) as soon as it is decrypted, before it hands the message on,
 * so a crash between the two would lose a message WhatsApp counts as delivered: it never comes again, and
 * its Signal keys are used up. Here each plaintext is written, with its stanza, before Baileys sees it
 * (the signal repository is wrapped, so Baileys waits for the write; one that fails fails the decryption,
 * and Baileys asks the sender for the message again instead of acknowledging it), the transaction that
 * stores the message deletes it (MessageChanges), and what is left when the session connects again is
 * read back through Baileys' own decoding, with the saved plaintexts in place of the keys.
 */
export class InboundStaging {
  /** The encrypted parts of the stanzas seen lately, by their ciphertext, which Baileys decrypts as is. */
  private readonly parts = new WeakMap<Uint8Array, { stanza: BinaryNode; part: number }>();
  /** Stanzas staged here and not handed on yet, with the connection (socket) that staged them. */
  private readonly staged = new Map<string, number>();
  /** Stanzas handed on lately, oldest first: on their way to the store (or stored), not to be read again. */
  private readonly reported = new Set<string>();
  /** Counts the sockets: each gets its own wrapped repository. */
  private connection = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sessionId: string,
    private readonly logger: EngineLogger,
    private readonly guarded: GuardedWrite,
  ) {}

  /** Remembers a message stanza as it arrives, before Baileys decrypts any of it. Status posts are never stored: not kept. */
  saw(stanza: BinaryNode): void {
    if (!stanza.attrs.id || !Array.isArray(stanza.content) || isJidStatusBroadcast(stanza.attrs.from ?? '')) return;
    stanza.content.forEach((child, part) => {
      if (child.tag === 'enc' && child.content instanceof Uint8Array) this.parts.set(child.content, { stanza, part });
    });
  }

  /**
   * `repository`, for a new socket, but each plaintext it decrypts from a stanza seen here is staged
   * before it is returned.
   */
  wrap(repository: SignalRepositoryWithLIDStore): SignalRepositoryWithLIDStore {
    const connection = ++this.connection;
    const wrapped = Object.create(repository) as SignalRepositoryWithLIDStore;
    wrapped.decryptMessage = async (opts) => this.stage(connection, opts.ciphertext, await repository.decryptMessage(opts));
    wrapped.decryptGroupMessage = async (opts) => this.stage(connection, opts.msg, await repository.decryptGroupMessage(opts));
    return wrapped;
  }

  /** The stanza was handed on: the transaction that stores its message deletes what was staged. */
  reportedNow(stanzaId: string): void {
    this.staged.delete(stanzaId);
    this.reported.delete(stanzaId);
    this.reported.add(stanzaId);
    if (this.reported.size > REPORTED_MAX) this.reported.delete(this.reported.values().next().value!);
  }

  /** Whether this engine staged the stanza and has neither handed it on nor dropped it. */
  has(stanzaId: string): boolean {
    return this.staged.has(stanzaId);
  }

  /** Forgets a stanza that holds nothing to store (Baileys handed on no message wafleet keeps). */
  async drop(stanzaId: string): Promise<void> {
    this.staged.delete(stanzaId);
    try {
      await this.dataSource.query(`DELETE FROM inbound_stanzas WHERE session_id = $1 AND stanza_id = $2`, [this.sessionId, stanzaId]);
    } catch (error) {
      this.logger.warn({ err: error, stanzaId }, 'forgetting a staged stanza failed; it is read again at the next connection');
    }
  }

  /**
   * What is staged and was not stored, oldest first, as Baileys would have handed it on: left by another
   * process (a crash, a failover), or by an earlier socket of this engine that closed before handing it
   * on. What the current socket staged, and what this engine handed on lately, is on its way already.
   * @param me the account's ids, as Baileys decodes a stanza for them
   */
  async unstored(me: { id: string; lid?: string }): Promise<WAMessage[]> {
    const rows: StagedRow[] = await this.dataSource.query(
      `SELECT stanza_id, part, stanza, plaintext FROM inbound_stanzas WHERE session_id = $1 ORDER BY staged_at, stanza_id, part`,
      [this.sessionId],
    );
    const stanzas = new Map<string, StagedRow[]>();
    for (const row of rows) {
      if (this.staged.get(row.stanza_id) === this.connection || this.reported.has(row.stanza_id)) continue;
      stanzas.set(row.stanza_id, [...(stanzas.get(row.stanza_id) ?? []), row]);
    }
    const messages: WAMessage[] = [];
    for (const [stanzaId, parts] of stanzas) {
      this.staged.set(stanzaId, this.connection);
      try {
        const stanza = await decodeBinaryNode(parts[0]!.stanza);
        const { fullMessage, decrypt } = decryptMessageNode(stanza, me.id, me.lid ?? '', savedPlaintexts(stanza, parts), this.logger);
        await decrypt();
        if (!fullMessage.message) throw new Error('no message in the staged plaintext');
        cleanMessage(fullMessage, me.id, me.lid ?? '');
        messages.push(fullMessage);
      } catch (error) {
        // Read the same way at every connection, it would fail the same way: it holds nothing to store.
        this.logger.warn({ err: error, stanzaId }, 'a staged stanza could not be read again; it is dropped');
        await this.drop(stanzaId);
      }
    }
    return messages;
  }

  private async stage(connection: number, ciphertext: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const seen = this.parts.get(ciphertext);
    if (!seen) return plaintext;
    const stanzaId = seen.stanza.attrs.id!;
    try {
      await this.guarded(() =>
        this.dataSource.query(
          `INSERT INTO inbound_stanzas (session_id, stanza_id, part, stanza, plaintext) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (session_id, stanza_id, part) DO UPDATE SET stanza = EXCLUDED.stanza, plaintext = EXCLUDED.plaintext, staged_at = now()`,
          [this.sessionId, stanzaId, seen.part, encodeBinaryNode(seen.stanza), Buffer.from(plaintext)],
        ),
      );
    } catch (error) {
      // Not kept, so not acknowledged: Baileys takes it for a message it could not decrypt and asks for it again.
      this.logger.warn({ err: error, stanzaId }, 'staging a received message failed');
      throw error;
    }
    this.staged.set(stanzaId, connection);
    return plaintext;
  }
}

/**
 * A signal repository that decrypts nothing: each encrypted part of `stanza` is answered with the plaintext
 * staged for it, and every key store it would touch is left alone (the keys moved on when it was decrypted).
 */
function savedPlaintexts(stanza: BinaryNode, parts: StagedRow[]): SignalRepositoryWithLIDStore {
  const children = Array.isArray(stanza.content) ? stanza.content : [];
  const plaintextOf = (ciphertext: Uint8Array): Uint8Array => {
    const part = children.findIndex((child) => child.content === ciphertext);
    const staged = parts.find((row) => row.part === part);
    if (!staged) throw new Error(`part ${part} of the stanza was not staged`);
    return staged.plaintext;
  };
  const repository = {
    decryptMessage: async (opts: { ciphertext: Uint8Array }) => plaintextOf(opts.ciphertext),
    decryptGroupMessage: async (opts: { msg: Uint8Array }) => plaintextOf(opts.msg),
    processSenderKeyDistributionMessage: async () => undefined,
    migrateSession: async () => undefined,
    lidMapping: { getLIDForPN: async () => null, storeLIDPNMappings: async () => undefined },
  };
  return repository as unknown as SignalRepositoryWithLIDStore;
}
