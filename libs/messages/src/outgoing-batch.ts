import type { NewOutgoing } from './message-rows';
import type { MessageRow } from './message.view';

/** Writes several plain outgoing messages in one statement, all or none; answers their rows, in any order. */
export type WriteMany = (messages: NewOutgoing[]) => Promise<MessageRow[]>;
/** Writes one, with its own error when it cannot be written. */
export type WriteOne = (message: NewOutgoing) => Promise<MessageRow>;

export interface OutgoingBatchOptions {
  /**
   * Statements in flight at once; what arrives meanwhile waits for the next one. Two keep a statement
   * ready while the other is on its way, and leave the pool's other connections to the rest of the work.
   */
  inFlight: number;
  /** Messages in one statement at most. */
  maxRows: number;
}

const DEFAULTS: OutgoingBatchOptions = { inFlight: 2, maxRows: 100 };

interface Waiting {
  message: NewOutgoing;
  resolve: (row: MessageRow) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the sends that need no transaction of their own (no Idempotency-Key, no media): a
 * message is written at once when a statement slot is free, and the ones that arrive while every slot
 * is busy are written together by the next statement. Under load the database sees one insert for many
 * requests; a lone request waits for nothing. When a shared statement fails (one message's session was
 * deleted a moment ago, say), each of its messages is written again on its own, so only that message's
 * request gets the error.
 */
export class OutgoingBatch {
  private readonly waiting: Waiting[] = [];
  private busy = 0;

  constructor(
    private readonly writeMany: WriteMany,
    private readonly writeOne: WriteOne,
    private readonly options: OutgoingBatchOptions = DEFAULTS,
  ) {}

  write(message: NewOutgoing): Promise<MessageRow> {
    return new Promise<MessageRow>((resolve, reject) => {
      this.waiting.push({ message, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.busy < this.options.inFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxRows);
      this.busy++;
      void this.flush(batch).finally(() => {
        this.busy--;
        this.next();
      });
    }
  }

  private async flush(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.alone(batch[0]!);
    let rows: MessageRow[];
    try {
      rows = await this.writeMany(batch.map((waiting) => waiting.message));
    } catch {
      // One after another, so their created_at keep the order in which they were accepted.
      for (const waiting of batch) await this.alone(waiting);
      return;
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const waiting of batch) {
      const row = byId.get(waiting.message.id);
      if (row) waiting.resolve(row);
      else await this.alone(waiting);
    }
  }

  private async alone(waiting: Waiting): Promise<void> {
    try {
      waiting.resolve(await this.writeOne(waiting.message));
    } catch (error) {
      waiting.reject(error);
    }
  }
}
