/**
 * Child processes that lead their own process group, so a signal reaches everything they started and
 * nothing outlives the caller: Ctrl-C in a terminal does not reach them directly, and whoever started
 * them stops them by group id.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { constants } from 'node:os';

const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Last resort when the caller exits without stopping what it started (a crash, process.exit in a test). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {} // the group is already gone
}

export interface GroupProcess {
  pid: number;
  /** The exit code, or 128 + the signal number when a signal ended it (SIGTERM → 143, SIGKILL → 137). */
  exited: Promise<number>;
  hasExited(): boolean;
  /** The last few KB of stdout and stderr, for error messages. */
  output(): string;
  /** Sends a signal to the whole group (SIGSTOP and SIGCONT too); a no-op once it has exited. */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends `signal` (default SIGTERM), waits for the exit and then SIGKILLs whatever is left in the group;
   * after `timeoutMs` it SIGKILLs the group without waiting longer. Resolves with the exit code.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Each whole line of stdout, e.g. to read a port the child prints. */
  onLine?: (line: string) => void;
}

export function spawnGroup(command: string, args: string[], options: SpawnOptions): GroupProcess {
  installExitHook();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer | Error) => void (tail = (tail + chunk.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    if (!options.onLine) return;
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) options.onLine(line);
  });
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('error', (error) => {
      keep(error);
      done = true;
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  const pid = child.pid ?? -1;
  if (pid > 0) liveGroups.add(pid);
  void exited.then(() => {
    signalGroup(pid, 'SIGKILL'); // grandchildren the leader left behind
    liveGroups.delete(pid);
  });
  const proc: GroupProcess = {
    pid,
    exited,
    hasExited: () => done,
    output: () => tail,
    signal: (name) => void (!done && signalGroup(pid, name)),
    async stop(name = 'SIGTERM', timeoutMs = 20_000) {
      proc.signal(name);
      if (name !== 'SIGKILL') proc.signal('SIGCONT'); // a paused process could not act on the signal
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return proc;
}

/** A free loopback port, picked by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers 200; fails early when `proc` exits, and after `timeoutMs`. */
export async function waitForOk(url: string, proc: GroupProcess, label: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new Error(`${label} exited with ${await proc.exited} before ${url} answered 200:\n${proc.output()}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.arrayBuffer().then(() => r.status),
      () => 0, // not listening yet
    );
    if (status === 200) return;
    await sleep(50);
  }
  throw new Error(`${label}: ${url} did not answer 200 within ${timeoutMs} ms:\n${proc.output()}`);
}
