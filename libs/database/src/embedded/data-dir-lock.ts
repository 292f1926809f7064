import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Another live process holds the folder; the message is the one sentence the operator sees. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes `DATA_DIR/wafleet.pid` for this process, so two processes never open one embedded database
 * (PGlite has no lock of its own, and two writers corrupt it). A file left by a dead process is taken
 * over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'wafleet.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(
          `DATA_DIR=${JSON.stringify(dataDir)} is in use by another wafleet process (pid ${holder}); stop that process, or set DATA_DIR to another folder, or set DATABASE_URL to share a PostgreSQL between processes.`,
        );
      }
      unlinkSync(path);
    }
  }
  throw new DataDirInUseError(`DATA_DIR=${JSON.stringify(dataDir)} could not be locked: another process keeps taking ${path}.`);
}
