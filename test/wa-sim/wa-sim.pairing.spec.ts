import makeWASocket, {
  DisconnectReason,
  INITIAL_PREKEY_COUNT,
  initAuthCreds,
  jidDecode,
  type AuthenticationCreds,
  type AuthenticationState,
  type ConnectionState,
} from 'baileys';
import pino from 'pino';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { unrefPreKeyUploadTimers } from './baileys-timers';

/** Signal keys in a Map: all a single test run needs, and nothing outlives it. */
function memoryAuthState(creds: AuthenticationCreds = initAuthCreds()): AuthenticationState {
  const store = new Map<string, unknown>();
  return {
    creds,
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

type Socket = ReturnType<typeof makeWASocket>;

function connect(port: number, auth: AuthenticationState, qrTimeout?: number): Socket {
  return makeWASocket({
    qrTimeout,
    waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
    auth,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    fireInitQueries: false,
    logger: pino({ level: 'silent' }),
  });
}

/** Resolves with the first connection.update that `pick` accepts; rejects if the socket closes first. */
function nextUpdate<T>(socket: Socket, pick: (u: Partial<ConnectionState>) => T | undefined, timeoutMs = 20_000): Promise<T> {
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

describe('wa-sim with an unmodified Baileys client', () => {
  let sim: WaSimServer;
  let port: number;
  const sockets: Socket[] = [];
  let restoreTimers: () => void;

  beforeAll(() => {
    restoreTimers = unrefPreKeyUploadTimers();
  });

  afterAll(() => restoreTimers());

  beforeEach(async () => {
    sim = new WaSimServer();
    port = await sim.start();
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.end(undefined);
    await sim.stop();
  });

  it('shows a new device a QR built from a ref the sim sent', async () => {
    const auth = memoryAuthState();
    const socket = connect(port, auth);
    sockets.push(socket);

    const qr = await nextUpdate(socket, (u) => u.qr);

    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@[^,]+,[^,]+,[^,]+,[^,]+,\d+$/);
    const [ref, noiseKey, identityKey, advSecret] = qr.slice(qr.indexOf('#') + 1).split(',');
    expect(sim.offersRef(ref!)).toBe(true);
    expect(noiseKey).toBe(Buffer.from(auth.creds.noiseKey.public).toString('base64'));
    expect(identityKey).toBe(Buffer.from(auth.creds.signedIdentityKey.public).toString('base64'));
    expect(advSecret).toBe(auth.creds.advSecretKey);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 0, liveConnections: 1 });
  });

  it('pairs on scan, restarts with 515 and logs in on the phone number', async () => {
    const auth = memoryAuthState();
    const registering = connect(port, auth);
    sockets.push(registering);
    const qr = await nextUpdate(registering, (u) => u.qr);
    const credsWithMe = new Promise<void>((resolve) =>
      registering.ev.on('creds.update', (update) => update.me && resolve()),
    );
    const restart = new Promise<number | undefined>((resolve) =>
      registering.ev.on('connection.update', (u) => {
        if (u.connection === 'close') resolve((u.lastDisconnect?.error as { output?: { statusCode?: number } })?.output?.statusCode);
      }),
    );

    const paired = await sim.scanQr(qr, '15550001111');

    await credsWithMe;
    expect(await restart).toBe(DisconnectReason.restartRequired);
    expect(paired.jid).toBe('15550001111:1@s.whatsapp.net');
    expect(auth.creds.me?.id).toBe(paired.jid);
    expect(auth.creds.account).toBeTruthy();

    const loggedIn = connect(port, auth);
    sockets.push(loggedIn);
    await nextUpdate(loggedIn, (u) => (u.connection === 'open' ? true : undefined));

    expect(jidDecode(auth.creds.me!.id)).toMatchObject({ user: '15550001111', device: 1 });
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 1, liveConnections: 1 });
    // A new device starts with no pre-keys on the server, so Baileys uploads its initial batch.
    expect(sim.accounts.findDevice('15550001111', 1)?.preKeyCount).toBe(INITIAL_PREKEY_COUNT);
  });

  it('refuses a login for a device the sim never linked', async () => {
    sim.accounts.ensure('15550009999');
    const auth = memoryAuthState();
    auth.creds.me = { id: '15550009999:3@s.whatsapp.net', name: 'ghost' };
    const socket = connect(port, auth);
    sockets.push(socket);

    const closed = nextUpdate(socket, (u) => (u.connection === 'open' ? 'open' : undefined));

    await expect(closed).rejects.toMatchObject({ output: { statusCode: DisconnectReason.loggedOut } });
    expect(sim.stats().logins).toBe(0);
  });

  it('closes a registering device with 408 and no creds.me once every ref has been shown', async () => {
    const shortSim = new WaSimServer({ refsPerRegistration: 2 });
    const shortPort = await shortSim.start();
    try {
      const auth = memoryAuthState();
      const socket = connect(shortPort, auth, 200);
      sockets.push(socket);
      const qrs: string[] = [];
      socket.ev.on('connection.update', (u) => u.qr && qrs.push(u.qr));

      const closed = nextUpdate(socket, (u) => (u.connection === 'open' ? 'open' : undefined));

      await expect(closed).rejects.toMatchObject({ output: { statusCode: DisconnectReason.timedOut } });
      expect(new Set(qrs).size).toBe(2);
      expect(auth.creds.me).toBeUndefined();
    } finally {
      await shortSim.stop();
    }
  });
});
