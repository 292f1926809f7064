/**
 * Runs PGlite on its own thread and serves it on a Unix socket with pglite-socket, so the database's
 * WebAssembly work never blocks the HTTP event loop. Messages: in `{ type: 'stop' }`; out
 * `{ type: 'ready' }`, `{ type: 'stopped' }` or `{ type: 'failed', message }`.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface WorkerInput {
  pgdata: string;
  socketPath: string;
}

async function serve({ pgdata, socketPath }: WorkerInput) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(pgdata);
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
  parentPort!.postMessage({ type: 'ready' });
}

serve(workerData as WorkerInput).catch((error: Error) => {
  parentPort!.postMessage({ type: 'failed', message: error?.message ?? String(error) });
});
