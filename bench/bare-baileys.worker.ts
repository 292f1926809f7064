/**
 * The baseline for bench/sessions.bench.ts: BENCH_SESSIONS bare Baileys sockets in this one process
 * against wa-sim (WA_SIM_PORT), with auth state in memory and the socket options wafleet's BaileysEngine
 * uses. It pairs every socket (QR -> POST /scan -> 515 restart -> login), ends them all and logs them
 * all in again with the saved creds. One JSON line per phase on stdout:
 *   {"phase":"idle", rssBytes, heapUsedBytes}                 baileys imported, no socket yet
 *   {"phase":"working", rssBytes, heapUsedBytes, pairAllMs}   every socket open
 *   {"phase":"relogged", reloginAllMs}                        every socket open again after end()
 * Memory is read over BENCH_SETTLE_MS after each phase, without a forced GC, as the bench reads wafleet's.
 * Phone numbers are BENCH_PHONE_BASE + i, so they stay apart from the accounts wafleet pairs.
 */
import makeWASocket, { initAuthCreds, type AuthenticationState, type ConnectionState } from 'baileys';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { pool } from './sessions.client';

type Socket = ReturnType<typeof makeWASocket>;

const env = (name: string) => {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${process.env[name]} must be a whole number`);
  return value;
};
const PORT = env('WA_SIM_PORT');
const SESSIONS = env('BENCH_SESSIONS');
const PAIR_CONCURRENCY = env('BENCH_PAIR_CONCURRENCY');
const RELOGIN_CONCURRENCY = env('BENCH_RELOGIN_CONCURRENCY');
const SETTLE_MS = env('BENCH_SETTLE_MS');
const PHONE_BASE = env('BENCH_PHONE_BASE');
const TIMEOUT_MS = 60_000;
/** As bench/sessions.bench.ts samples the server. */
const SAMPLE_MS = 250;

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const report = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
/** RSS at the end of the settle time; heap used as its lowest sample in it (the nearest to after a GC). */
async function settledMemory() {
  let heapUsedBytes = Infinity;
  for (const end = performance.now() + SETTLE_MS; ; await sleep(SAMPLE_MS)) {
    heapUsedBytes = Math.min(heapUsedBytes, process.memoryUsage().heapUsed);
    if (performance.now() >= end) break;
  }
  return { rssBytes: process.memoryUsage().rss, heapUsedBytes };
}

/** Signal keys in a Map, as test/wa-sim/baileys-client.ts keeps them. */
function memoryAuthState(): AuthenticationState {
  const store = new Map<string, unknown>();
  return {
    creds: initAuthCreds(),
    keys: {
      get: async (type, ids) => Object.fromEntries(ids.map((id) => [id, store.get(`${type}/${id}`)]).filter(([, v]) => v !== undefined)),
      set: async (data) => {
        for (const [type, values] of Object.entries(data)) {
          for (const [id, value] of Object.entries(values ?? {})) {
            if (value === null || value === undefined) store.delete(`${type}/${id}`);
            else store.set(`${type}/${id}`, value);
          }
        }
      },
    },
  };
}

/** The options BaileysEngine passes (libs/engines/src/baileys.engine.ts), with a silent logger. */
const connect = (auth: AuthenticationState): Socket =>
  makeWASocket({
    auth,
    logger,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
    waWebSocketUrl: `ws://127.0.0.1:${PORT}/ws/chat`,
  });

/** The first connection.update that `pick` accepts; rejects when the socket closes first or on timeout. */
function nextUpdate<T>(socket: Socket, pick: (u: Partial<ConnectionState>) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching connection.update within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    socket.ev.on('connection.update', (update) => {
      const picked = pick(update);
      if (picked !== undefined) {
        clearTimeout(timer);
        resolve(picked);
      } else if (update.connection === 'close') {
        clearTimeout(timer);
        reject(update.lastDisconnect?.error ?? new Error('connection closed'));
      }
    });
  });
}

const opened = (u: Partial<ConnectionState>) => (u.connection === 'open' ? true : undefined);
const closed = (u: Partial<ConnectionState>) => (u.connection === 'close' ? true : undefined);

function scan(qr: string, phone: string): Promise<void> {
  const body = JSON.stringify({ qr, phone });
  return new Promise((resolve, reject) => {
    const req = request(
      `http://127.0.0.1:${PORT}/scan`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /scan answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Registers a device, plays the phone with its QR, and logs in again after the 515 restart. */
async function pair(phone: string): Promise<{ auth: AuthenticationState; socket: Socket }> {
  const auth = memoryAuthState();
  const registering = connect(auth);
  const qr = await nextUpdate(registering, (u) => u.qr);
  const restarted = new Promise<void>((resolve) => registering.ev.on('connection.update', (u) => void (closed(u) && resolve())));
  const credsWithMe = new Promise<void>((resolve) => registering.ev.on('creds.update', (u) => void (u.me && resolve())));
  await scan(qr, phone);
  await Promise.all([restarted, credsWithMe]);
  const socket = connect(auth);
  await nextUpdate(socket, opened);
  return { auth, socket };
}


async function main(): Promise<void> {
  report({ phase: 'idle', ...(await settledMemory()) });

  const pairStart = performance.now();
  const paired = await pool(SESSIONS, PAIR_CONCURRENCY, (i) => pair(String(PHONE_BASE + i)));
  const pairAllMs = performance.now() - pairStart;
  report({ phase: 'working', ...(await settledMemory()), pairAllMs });

  // Bring back: end every socket (as a stopping server does), then log them all in with the saved creds.
  await Promise.all(
    paired.map(({ socket }) => {
      const gone = nextUpdate(socket, closed).catch(() => undefined);
      socket.end(undefined);
      return gone;
    }),
  );
  const reloginStart = performance.now();
  const again = await pool(SESSIONS, RELOGIN_CONCURRENCY, async (i) => {
    const socket = connect(paired[i]!.auth);
    await nextUpdate(socket, opened);
    return socket;
  });
  report({ phase: 'relogged', reloginAllMs: performance.now() - reloginStart });
  for (const socket of again) socket.end(undefined);
  process.exit(0); // pending Baileys timers (pre-key upload, keep-alive) would hold the process for 30 s
}

main().catch((error: Error) => {
  process.stderr.write(`bare-baileys worker failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
