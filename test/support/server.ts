import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../tools/cluster/process-group';

export { freePort };

const ROOT = process.cwd();
export const SERVER_ENTRY = resolve(ROOT, 'dist/apps/api/src/main.js');

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `wafleet-${label}-`));
}

export interface ServerProcess {
  url: string;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** JSON log lines written so far, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (or 128 + signal number) when the process ends. */
  exited: Promise<number>;
  signal(name: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL of the whole process group if it has not exited in 20 s. */
  stop(): Promise<number>;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGTERM: 15, SIGINT: 2, SIGKILL: 9 };

/**
 * Starts the built server as its own process group with the given environment (plus a free PORT,
 * unless given). Resolves when it exits or when `/health/ready` answers 200, whichever is first.
 */
export async function startServer(env: Record<string, string>, options: { waitForReady?: boolean } = {}): Promise<ServerProcess> {
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`npm run build\` first (npm test does).`);
  const port = env.PORT ?? String(await freePort());
  const child: ChildProcess = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0', ...env, PORT: port, HOST: '127.0.0.1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number>((done) =>
    child.once('exit', (code, signal) => done(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0))),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    logLines: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
    signal: (name) => {
      if (!gone) process.kill(child.pid!, name);
    },
    stop: async () => {
      if (!gone) process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => !gone && process.kill(-child.pid!, 'SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (options.waitForReady !== false) await waitForReady(server);
  return server;
}

async function waitForReady(server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | undefined;
  void server.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`the server exited with ${exitCode} before it was ready:\n${server.stderr()}\n${server.stdout().slice(-2000)}`);
    }
    try {
      if ((await fetch(`${server.url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  await server.stop();
  throw new Error(`the server was not ready within ${timeoutMs} ms:\n${server.stderr()}\n${server.stdout().slice(-2000)}`);
}

/** Removes a folder a test made, ignoring what is already gone. */
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });
