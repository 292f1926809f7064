import { DisconnectReason, INITIAL_PREKEY_COUNT, jidDecode } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { connect, memoryAuthState, nextUpdate, opened } from './baileys-client';
import { useSim } from './sim-fixture';

describe('wa-sim with an unmodified Baileys client', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  it('shows a new device a QR built from a ref the sim sent', async () => {
    const auth = memoryAuthState();
    const socket = connect(port, auth);
    track(socket);

    const qr = await nextUpdate(socket, (u) => u.qr);

    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@[^,]+,[^,]+,[^,]+,[^,]+,\d+$/);
    const [ref, noiseKey, identityKey, advSecret] = qr.slice(qr.indexOf('#') + 1).split(',');
    expect(sim.offersRef(ref!)).toBe(true);
    expect(noiseKey).toBe(Buffer.from(auth.creds.noiseKey.public).toString('base64'));
    expect(identityKey).toBe(Buffer.from(auth.creds.signedIdentityKey.public).toString('base64'));
    expect(advSecret).toBe(auth.creds.advSecretKey);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 0, live: 1 });
  });

  it('pairs on scan, restarts with 515 and logs in on the phone number', async () => {
    const auth = memoryAuthState();
    const registering = connect(port, auth);
    track(registering);
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
    track(loggedIn);
    await nextUpdate(loggedIn, opened);

    expect(jidDecode(auth.creds.me!.id)).toMatchObject({ user: '15550001111', device: 1 });
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 1, live: 1 });
    // A new device starts with no pre-keys on the server, so Baileys uploads its initial batch.
    expect(sim.accounts.findDevice('15550001111', 1)?.preKeyCount).toBe(INITIAL_PREKEY_COUNT);
  });

  it('refuses a login for a device the sim never linked', async () => {
    sim.accounts.ensure('15550009999');
    const auth = memoryAuthState();
    auth.creds.me = { id: '15550009999:3@s.whatsapp.net', name: 'ghost' };
    const socket = connect(port, auth);
    track(socket);

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
      track(socket);
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
