import makeWASocket, {
  BufferJSON,
  initAuthCreds,
  type AuthenticationCreds,
  type AuthenticationState,
  type ConnectionState,
  type UserFacingSocketConfig,
} from 'baileys';
import pino from 'pino';

export type Socket = ReturnType<typeof makeWASocket>;

/** An auth state whose signal keys sit in `store`, a Map the test can read and copy. */
export type MemoryAuthState = AuthenticationState & { store: Map<string, unknown> };

/** Signal keys in a Map: all a single test run needs, and nothing outlives it. */
export function memoryAuthState(
  creds: AuthenticationCreds = initAuthCreds(),
  store = new Map<string, unknown>(),
): MemoryAuthState {
  return {
    creds,
    store,
    keys: {
      get: async (type, ids) =>
        Object.fromEntries(ids.map((id) => [id, store.get(`${type}/${id}`)]).filter(([, v]) => v !== undefined)),
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

/**
 * An independent copy, as a second replica would load the session from the database: the same creds
 * and keys, but no object shared with the first client (Baileys mutates creds in place).
 */
export function copyAuthState(auth: MemoryAuthState): MemoryAuthState {
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value, BufferJSON.replacer), BufferJSON.reviver) as T;
  return memoryAuthState(copy(auth.creds), new Map([...auth.store].map(([key, value]) => [key, copy(value)])));
}

/** `overrides` adds client options a test needs, e.g. a `fetchAgent` that trusts the sim's media host. */
export function connect(
  port: number,
  auth: AuthenticationState,
  qrTimeout?: number,
  overrides: Partial<UserFacingSocketConfig> = {},
): Socket {
  return makeWASocket({
    qrTimeout,
    waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
    auth,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    fireInitQueries: false,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}

/** Resolves with the first connection.update that `pick` accepts; rejects if the socket closes first. */
export function nextUpdate<T>(
  socket: Socket,
  pick: (u: Partial<ConnectionState>) => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching connection.update within ${timeoutMs} ms`)), timeoutMs);
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

export const opened = (u: Partial<ConnectionState>) => (u.connection === 'open' ? true : undefined);

/** The DisconnectReason a socket closes with; rejects if it is still open after `timeoutMs`. */
export function closeCode(socket: Socket, timeoutMs = 20_000): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.ev.on('connection.update', (u) => {
      if (u.connection !== 'close') return;
      clearTimeout(timer);
      resolve((u.lastDisconnect?.error as { output?: { statusCode?: number } })?.output?.statusCode);
    });
  });
}

/**
 * A device registers, `scan` plays the phone with the QR it shows, and after the 515 restart it logs
 * in again with the creds it got. Every socket is handed to `track` so the test can end it.
 */
export async function pairAndLogin(
  port: number,
  scan: (qr: string) => Promise<unknown>,
  track: (socket: Socket) => void,
  overrides: Partial<UserFacingSocketConfig> = {},
): Promise<{ auth: MemoryAuthState; socket: Socket }> {
  const auth = memoryAuthState();
  // Both connections ping at the same rate, so a sim that drops quiet clients keeps the registering one.
  const registering = connect(port, auth, undefined, overrides.keepAliveIntervalMs ? { keepAliveIntervalMs: overrides.keepAliveIntervalMs } : {});
  track(registering);
  const qr = await nextUpdate(registering, (u) => u.qr);
  const restarted = closeCode(registering);
  const credsWithMe = new Promise<void>((resolve) => registering.ev.on('creds.update', (u) => u.me && resolve()));
  await scan(qr);
  await Promise.all([restarted, credsWithMe]);
  const socket = connect(port, auth, undefined, overrides);
  track(socket);
  await nextUpdate(socket, opened);
  return { auth, socket };
}
