import { DisconnectReason, jidDecode } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { closeCode, connect, memoryAuthState, nextUpdate, opened, type MemoryAuthState, type Socket } from './baileys-client';
import { useSim } from './sim-fixture';

const PHONE = '15550004444';

describe('wa-sim pairing by code with an unmodified Baileys client', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  /** A new device that asks for a pairing code on its first QR, as Baileys documents it. */
  async function requestCode(custom?: string): Promise<{ auth: MemoryAuthState; socket: Socket; code: string }> {
    const auth = memoryAuthState();
    const socket = track(connect(port, auth));
    await nextUpdate(socket, (u) => u.qr);
    const code = await socket.requestPairingCode(PHONE, custom);
    return { auth, socket, code };
  }

  async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  it('links the device when the phone enters the code it shows, then logs it in after the 515 restart', async () => {
    const { auth, socket, code } = await requestCode();
    const restarted = closeCode(socket);
    const linked = new Promise<void>((resolve) => socket.ev.on('creds.update', (u) => u.me?.lid && resolve()));

    const entered = await post('/pair-code', { phone: PHONE, code: `${code.slice(0, 4)}-${code.slice(4)}` });

    expect(code).toMatch(/^[0-9A-Z]{8}$/);
    expect(entered).toEqual({ status: 200, body: { jid: `${PHONE}:1@s.whatsapp.net` } });
    await linked;
    expect(await restarted).toBe(DisconnectReason.restartRequired);
    expect(auth.creds.registered).toBe(true);
    expect(jidDecode(auth.creds.me!.id)).toMatchObject({ user: PHONE, device: 1 });

    const loggedIn = track(connect(port, auth));
    await nextUpdate(loggedIn, opened);
    expect(sim.listAccounts()).toEqual([{ phone: PHONE, devices: [1], live: 1, conflicts: 0 }]);
  });

  it('refuses a wrong code with 403 and links nothing, and still takes the right code afterwards', async () => {
    // A code of the client's choosing, with every kind of character Baileys' own codes hold.
    const { socket, code } = await requestCode('L1NK2WAZ');
    const wrong = 'L1NK2WAY';

    const refused = await post('/pair-code', { phone: PHONE, code: wrong });

    expect(refused).toEqual({ status: 403, body: { error: { code: 'wrong_pairing_code', message: expect.stringContaining(PHONE) } } });
    expect(sim.listAccounts()).toEqual([]);

    const restarted = closeCode(socket);
    expect(await sim.enterPairingCode(PHONE, code)).toMatchObject({ jid: `${PHONE}:1@s.whatsapp.net` });
    expect(await restarted).toBe(DisconnectReason.restartRequired);
  });

  it('answers 400 for a malformed code or phone and 404 when no device asked for a code', async () => {
    const malformed = await post('/pair-code', { phone: PHONE, code: 'ABC' });
    const noPhone = await post('/pair-code', { code: 'ABCDEFGH' });
    const nobodyWaiting = await post('/pair-code', { phone: PHONE, code: 'ABCDEFGH' });

    expect(malformed).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"code"') } } });
    expect(noPhone).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"phone"') } } });
    expect(nobodyWaiting).toEqual({ status: 404, body: { error: { code: 'no_code_request', message: expect.stringContaining(PHONE) } } });
  });
});
