import { DomainError } from '@wafleet/core';
import { BusPayloadTooLargeError, BusRemoteError } from '../sync.errors';
import type { CommandHandler } from '../sync.ports';

/** What crosses the wire as a reply. */
export type BusReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; status: number; details?: unknown } };

/** The command handlers of this instance, and the rules both Bus bindings share. */
export class BusHandlers {
  private readonly handlers = new Map<string, CommandHandler>();

  constructor(private readonly maxPayloadBytes: number) {}

  register(command: string, handler: CommandHandler): void {
    this.handlers.set(command, handler);
  }

  /** The JSON text of a payload, refused when over BUS_MAX_PAYLOAD_BYTES. */
  encode(what: 'request' | 'reply', value: unknown): string {
    const text = JSON.stringify(value ?? null);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxPayloadBytes) throw new BusPayloadTooLargeError(what, bytes, this.maxPayloadBytes);
    return text;
  }

  /** Runs a command for a caller; never throws: failures become error replies. */
  async invoke(command: string, payload: unknown): Promise<BusReply> {
    const handler = this.handlers.get(command);
    if (!handler) return { ok: false, error: { code: 'unknown_command', message: `No handler for ${command}.`, status: 501 } };
    try {
      const result = await handler(payload);
      return { ok: true, result: JSON.parse(this.encode('reply', result)) };
    } catch (error) {
      if (error instanceof DomainError) {
        return { ok: false, error: { code: error.code, message: error.message, status: error.status, details: error.details } };
      }
      return { ok: false, error: { code: 'internal_error', message: `The handler of ${command} failed.`, status: 500 } };
    }
  }

  /** Turns a reply back into a result or the remote's error. */
  static settle<T>(reply: BusReply): T {
    if (reply.ok) return reply.result as T;
    throw new BusRemoteError(reply.error.code, reply.error.message, reply.error.status, reply.error.details);
  }
}
