import { DisconnectReason } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { closeCode, connect, memoryAuthState, nextUpdate, pairAndLogin } from './baileys-client';
import { useSim } from './sim-fixture';

const PHONE = '15550003333';

describe('wa-sim HTTP control API', () => {
  let sim: WaSimServer;
  let port: number;
  let base: string;
  const track = useSim((started, at) => {
    [sim, port] = [started, at];
    base = `http://127.0.0.1:${at}`;
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.headers.get('content-type')).toBe('application/json');
    return { status: res.status, body: await res.json() };
  }


  it('pairs through POST /scan, lists the account live, counts it in /stats and logs it out', async () => {
    const scans: Array<{ status: number; body: any }> = [];
    const { socket } = await pairAndLogin(
      port,
      async (qr) => scans.push(await call('POST', '/scan', { qr, phone: PHONE })),
      track,
    );

    expect(scans).toEqual([{ status: 200, body: { jid: `${PHONE}:1@s.whatsapp.net` } }]);
    expect(await call('GET', '/accounts')).toEqual({
      status: 200,
      body: { data: [{ phone: PHONE, devices: [1], live: 1, conflicts: 0 }] },
    });
    expect(await call('GET', '/stats')).toEqual({
      status: 200,
      body: { registrations: 1, logins: 1, live: 1, conflicts: 0, idleDrops: 0, messagesByRecipient: {} },
    });

    const closed = closeCode(socket);
    expect(await call('POST', `/accounts/${PHONE}/logout`)).toEqual({ status: 200, body: { phone: PHONE, devices: [1] } });
    expect(await closed).toBe(DisconnectReason.loggedOut);
    expect((await call('GET', '/accounts')).body.data).toEqual([{ phone: PHONE, devices: [], live: 0, conflicts: 0 }]);
  });

  it('answers 400 naming the field for a bad /scan body', async () => {
    const registering = connect(port, memoryAuthState());
    track(registering);
    const qr = await nextUpdate(registering, (u) => u.qr);

    const noPhone = await call('POST', '/scan', { qr });
    const badQr = await call('POST', '/scan', { qr: 'not-a-qr', phone: PHONE });
    const notJson = await call('POST', '/scan', '{"qr":');

    expect(noPhone).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"phone"') } } });
    expect(badQr).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"qr"') } } });
    expect(notJson).toEqual({ status: 400, body: { error: { code: 'invalid_json', message: expect.any(String) } } });
    expect(sim.listAccounts()).toEqual([]);
  });

  it('answers 404 for an unknown account, an unknown QR ref and an unknown route', async () => {
    const unknownAccount = await call('POST', '/accounts/15559999999/logout');
    const unknownRef = await call('POST', '/scan', { qr: '2@gone,AA==,AA==,AA==', phone: PHONE });
    const unknownRoute = await call('GET', '/nope');

    expect(unknownAccount).toEqual({ status: 404, body: { error: { code: 'unknown_account', message: expect.stringContaining('15559999999') } } });
    expect(unknownRef).toEqual({ status: 404, body: { error: { code: 'unknown_ref', message: expect.any(String) } } });
    expect(unknownRoute).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no route GET /nope' } } });
  });
});
