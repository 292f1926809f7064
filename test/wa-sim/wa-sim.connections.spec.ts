import { DisconnectReason } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { closeCode, connect, copyAuthState, nextUpdate, opened, pairAndLogin } from './baileys-client';
import { useSim } from './sim-fixture';

const PHONE = '15550002222';

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('wa-sim keeps one live connection per account', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  it('kicks the older connection with 440 when a second client logs in with the same creds', async () => {
    const { auth, socket: first } = await pairAndLogin(port, (qr) => sim.scanQr(qr, PHONE), track);
    const firstClosed = closeCode(first);

    const second = connect(port, copyAuthState(auth));
    track(second);
    await nextUpdate(second, opened);

    expect(await firstClosed).toBe(DisconnectReason.connectionReplaced);
    expect(sim.stats()).toMatchObject({ logins: 2, live: 1, conflicts: 1 });
    expect(sim.listAccounts()).toEqual([{ phone: PHONE, devices: [1], live: 1, conflicts: 1 }]);
  });

  it('does not count a conflict when the first connection has already gone', async () => {
    const { auth, socket: first } = await pairAndLogin(port, (qr) => sim.scanQr(qr, PHONE), track);
    const firstClosed = closeCode(first);
    first.end(undefined);
    await firstClosed;
    // The client reports the close before the sim has read it; wait for the sim's view.
    await until(() => sim.stats().live === 0);

    const second = connect(port, copyAuthState(auth));
    track(second);
    await nextUpdate(second, opened);

    expect(sim.stats()).toMatchObject({ logins: 2, conflicts: 0 });
  });

  it('logs a live device out with 401 and refuses its next login with 401', async () => {
    const { auth, socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, PHONE), track);
    const closed = closeCode(socket);

    expect(await sim.logoutDevice(PHONE)).toEqual([1]);

    expect(await closed).toBe(DisconnectReason.loggedOut);
    expect(sim.listAccounts()).toEqual([{ phone: PHONE, devices: [], live: 0, conflicts: 0 }]);
    const again = connect(port, auth);
    track(again);
    await expect(nextUpdate(again, opened)).rejects.toMatchObject({ output: { statusCode: DisconnectReason.loggedOut } });
    expect(sim.stats().logins).toBe(1);
  });

  it('refuses to log out an account it does not know', async () => {
    await expect(sim.logoutDevice('15559999999')).rejects.toMatchObject({ code: 'unknown_account', status: 404 });
  });
});
