import type { BinaryNode } from 'baileys';
import type { SimConnection } from './sim-connection';

interface PendingReply {
  connection: SimConnection;
  settle(outcome: BinaryNode | Error): void;
}

/** Iqs the sim sent and whose `result`/`error` it waits for, keyed `<connection id>/<iq id>`. */
export class PendingReplies {
  private readonly byKey = new Map<string, PendingReply>();

  constructor(private readonly timeoutMs: number) {}

  /** Register before sending the iq, so an answer that races the send is not lost. */
  await(connection: SimConnection, id: string): Promise<BinaryNode> {
    const key = `${connection.id}/${id}`;
    return new Promise<BinaryNode>((resolve, reject) => {
      const settle = (outcome: BinaryNode | Error) => {
        clearTimeout(timer);
        this.byKey.delete(key);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(
        () => settle(new Error(`no answer to iq ${id} on connection ${connection.id} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.byKey.set(key, { connection, settle });
    });
  }

  /** @returns whether someone was waiting for this answer */
  answer(connection: SimConnection, node: BinaryNode): boolean {
    const pending = this.byKey.get(`${connection.id}/${node.attrs.id}`);
    pending?.settle(node);
    return pending !== undefined;
  }

  abandon(connection: SimConnection): void {
    for (const pending of this.byKey.values()) {
      if (pending.connection === connection) pending.settle(new Error(`connection ${connection.id} closed before answering`));
    }
  }
}
