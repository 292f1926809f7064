import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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
 * over: it is first renamed away, which only one contender can do, so two processes starting together
 * on a stale lock cannot both win. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'wafleet.pid');
  for (let attempt = 0; attempt < 5; attempt++) {
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
      const holder = readHolder(path) ?? (pause(WRITE_GRACE_MS), readHolder(path));
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw inUse(dataDir, holder);
      const stale = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, stale);
      } catch (renameError) {
        if ((renameError as NodeJS.ErrnoException).code === 'ENOENT') continue; // another contender moved it first
        throw renameError;
      }
      const moved = readHolder(stale);
      if (moved !== holder && moved !== undefined && isAlive(moved)) {
        // Between our read and our rename a live process took the lock: give it back.
        renameSync(stale, path);
        throw inUse(dataDir, moved);
      }
      unlinkSync(stale);
    }
  }
  throw new DataDirInUseError(`DATA_DIR=${JSON.stringify(dataDir)} could not be locked: another process keeps taking ${path}.`);
}

/** How long an empty lock file is given for its creator to write its pid into it. */
const WRITE_GRACE_MS = 100;

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function readHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const inUse = (dataDir: string, holder: number) =>
  new DataDirInUseError(
    `DATA_DIR=${JSON.stringify(dataDir)} is in use by another wafleet process (pid ${holder}); stop that process, or set DATA_DIR to another folder, or set DATABASE_URL to share a PostgreSQL between processes.`,
  );
