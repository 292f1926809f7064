import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, lockDataDir } from './data-dir-lock';

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'wafleet-lock-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = () => join(dir, 'wafleet.pid');

  it('writes this pid and removes it on release', () => {
    const release = lockDataDir(dir);
    expect(readFileSync(pidFile(), 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(pidFile())).toBe(false);
  });

  it('refuses a folder a live process holds, naming it', async () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(pidFile(), String(holder.pid));
      expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
      expect(() => lockDataDir(dir)).toThrow(`is in use by another wafleet process (pid ${holder.pid})`);
      expect(readFileSync(pidFile(), 'utf8')).toBe(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a file left by a process that is gone', async () => {
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((done) => gone.once('exit', done));
    writeFileSync(pidFile(), String(gone.pid));
    const release = lockDataDir(dir);
    expect(readFileSync(pidFile(), 'utf8')).toBe(String(process.pid));
    release();
  });
});
