/**
 * Runs PGlite on its own thread and serves it on a Unix socket with pglite-socket, so the database's
 * WebAssembly work never blocks the HTTP event loop. Messages: in `{ type: 'stop' }`; out
 * `{ type: 'ready', created }`, `{ type: 'stopped' }` or `{ type: 'failed', message }`.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { readPgdataTemplate } from './pgdata-template';

type PGliteInstance = Awaited<ReturnType<(typeof import('@electric-sql/pglite'))['PGlite']['create']>>;

interface WorkerInput {
  pgdata: string;
  socketPath: string;
}

async function serve({ pgdata, socketPath }: WorkerInput) {
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const { db, created } = await open(pgdata);
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
  await server.start();
  parentPort!.on('message', async (message: { type: string }) => {
    if (message.type !== 'stop') return;
    try {
      await server.stop();
      await db.close();
      parentPort!.postMessage({ type: 'stopped' });
    } catch (error) {
      parentPort!.postMessage({ type: 'failed', message: (error as Error)?.message ?? String(error) });
    }
  });
  parentPort!.postMessage({ type: 'ready', created });
}

/**
 * Opens the database in `pgdata`, making it first where there is none: from the build's template, or by
 * initdb where there is no template. PGlite takes any folder holding PG_VERSION for a database, however
 * much of the rest was written, so a marker beside the folder, removed once the database is made, tells
 * a finished database from one a crash interrupted. Such a folder holds nothing of a user's yet (the
 * socket opens after), and is made again.
 */
async function open(pgdata: string): Promise<{ db: PGliteInstance; created?: 'template' | 'initdb' }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const unfinished = `${pgdata}.unfinished`;
  if (existsSync(join(pgdata, 'PG_VERSION')) && !existsSync(unfinished)) return { db: await PGlite.create(pgdata) };
  writeFileSync(unfinished, 'the database in pgdata is being made; a start that finds this file makes it again\n');
  rmSync(pgdata, { recursive: true, force: true });
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const template = readPgdataTemplate();
  const db = await PGlite.create(pgdata, template ? { loadDataDir: new Blob([template]) } : {});
  rmSync(unfinished);
  return { db, created: template ? 'template' : 'initdb' };
}

serve(workerData as WorkerInput).catch((error: Error) => {
  parentPort!.postMessage({ type: 'failed', message: error?.message ?? String(error) });
});
