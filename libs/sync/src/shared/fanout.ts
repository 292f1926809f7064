import { Logger } from '@nestjs/common';
import type { MessageHandler } from '../sync.ports';

/**
 * Local fan-out. Each handler gets its own JSON copy, as it would from Redis, and a throwing handler
 * neither stops the others nor fails the publisher.
 */
export class LocalFanout {
  private readonly logger = new Logger('PubSub');
  private readonly handlers = new Map<string, Set<MessageHandler>>();

  add(channel: string, handler: MessageHandler): boolean {
    const first = !this.handlers.has(channel);
    if (first) this.handlers.set(channel, new Set());
    this.handlers.get(channel)!.add(handler);
    return first;
  }

  /** Removes the handler; true when it was the channel's last. */
  remove(channel: string, handler: MessageHandler): boolean {
    const set = this.handlers.get(channel);
    if (!set?.delete(handler) || set.size > 0) return false;
    this.handlers.delete(channel);
    return true;
  }

  channels(): string[] {
    return [...this.handlers.keys()];
  }

  has(channel: string): boolean {
    return this.handlers.has(channel);
  }

  /** Delivers a message the publisher keeps: every handler gets its own copy. */
  deliver(channel: string, json: string): void {
    for (const handler of [...(this.handlers.get(channel) ?? [])]) this.call(channel, handler, JSON.parse(json));
  }

  /** Delivers a freshly parsed message nobody else holds: the first handler gets it as is, others a copy. */
  deliverOwned(channel: string, message: unknown): void {
    [...(this.handlers.get(channel) ?? [])].forEach((handler, i) => this.call(channel, handler, i === 0 ? message : structuredClone(message)));
  }

  private call(channel: string, handler: MessageHandler, message: unknown): void {
    try {
      handler(message);
    } catch (error) {
      this.logger.error({ err: error, channel }, 'A subscriber failed');
    }
  }
}
