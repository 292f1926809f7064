import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { lockDataDir } from './data-dir-lock';

/** Longest Unix socket path Linux accepts, less room for the terminating byte. */
const MAX_SOCKET_PATH = 100;
const SOCKET_FILE = '.s.PGSQL.5432';
/** PGlite flushes and closes in well under a second; past this the thread is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * The embedded PostgreSQL: PGlite in `DATA_DIR/pgdata`, on a worker thread, reachable by the ordinary
 * `pg` driver on a Unix socket that only this user can open. Holds the DATA_DIR lock while open.
 */
export class EmbeddedPostgres {
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    /** Folder holding the socket; `pg` connects with `host` = this folder and port 5432. */
    readonly socketDir: string,
    /** How this start made the database, when it had to: from the build's template or by initdb. */
    readonly created: 'template' | 'initdb' | undefined,
    private readonly releaseLock: () => void,
    private readonly ownSocketDir: boolean,
  ) {}

  static async open(dataDir: string): Promise<EmbeddedPostgres> {
    const releaseLock = lockDataDir(dataDir);
    const inDataDir = join(dataDir, SOCKET_FILE).length <= MAX_SOCKET_PATH;
    const socketDir = inDataDir ? dataDir : mkdtempSync(join(tmpdir(), 'wafleet-db-'));
    rmSync(join(socketDir, SOCKET_FILE), { force: true });
    const worker = new Worker(join(__dirname, 'pglite.worker.js'), {
      workerData: { pgdata: join(dataDir, 'pgdata'), socketPath: join(socketDir, SOCKET_FILE) },
    });
    let ready: ReadyMessage;
    try {
      ready = await untilReady(worker, dataDir);
    } catch (error) {
      await worker.terminate();
      releaseLock();
      throw error;
    }
    const embedded = new EmbeddedPostgres(worker, socketDir, ready.created, releaseLock, !inDataDir);
    embedded.watch();
    return embedded;
  }

  /** After start, a failure of the thread is logged; queries then fail and readiness reports it. */
  private watch(): void {
    const logger = new Logger('Database');
    this.worker.on('error', (error) => logger.error({ err: error }, 'The embedded database thread failed'));
    this.worker.on('exit', (code) => {
      if (!this.closing) logger.error({ code }, 'The embedded database thread exited; the database is down');
    });
  }

  /** Closes PGlite cleanly (its files are flushed), stops the thread and releases DATA_DIR. */
  async close(): Promise<void> {
    this.closing = true;
    const outcome = new Promise<string>((resolve) => {
      this.worker.once('message', (message: { type: string; message?: string }) => resolve(message.message ?? message.type));
      this.worker.once('exit', () => resolve('exited'));
      setTimeout(() => resolve(`no answer within ${CLOSE_TIMEOUT_MS} ms`), CLOSE_TIMEOUT_MS).unref();
    });
    this.worker.postMessage({ type: 'stop' });
    const result = await outcome;
    if (result !== 'stopped') new Logger('Database').error({ result }, 'The embedded database did not close cleanly');
    await this.worker.terminate();
    if (this.ownSocketDir) rmSync(this.socketDir, { recursive: true, force: true });
    this.releaseLock();
  }
}

interface ReadyMessage {
  type: string;
  message?: string;
  created?: 'template' | 'initdb';
}

/** Resolves on the worker's `ready`, rejects on `failed` or an early exit; removes only its own listeners. */
function untilReady(worker: Worker, dataDir: string): Promise<ReadyMessage> {
  return new Promise<ReadyMessage>((resolve, reject) => {
    const settle = (error?: Error, ready?: ReadyMessage) => {
      worker.off('message', onMessage).off('error', settle).off('exit', onExit);
      if (error) reject(error);
      else resolve(ready!);
    };
    const onMessage = (message: ReadyMessage) =>
      message.type === 'ready' ? settle(undefined, message) : settle(new Error(`the embedded database in ${dataDir} did not open: ${message.message}`));
    const onExit = (code: number) => settle(new Error(`the embedded database thread exited with code ${code}`));
    worker.on('message', onMessage).on('error', settle).on('exit', onExit);
  });
}
