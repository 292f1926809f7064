import { Injectable } from '@nestjs/common';

/**
 * One lifecycle change at a time per session in this process: start, stop, restart, logout and delete
 * queue behind each other, so two requests can never run two engines for one session or stop one half
 * started. Requests for a session are served by its owner, so a process-local lock is the whole story.
 */
@Injectable()
export class SessionLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(sessionId) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.tails.set(sessionId, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(sessionId) === tail) this.tails.delete(sessionId);
    }
  }
}
