import { DisconnectReason } from 'baileys';
import { WebSocket } from 'ws';
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

describe('wa-sim drops a connection that went quiet, as WhatsApp drops a client whose pings stopped', () => {
  // Well above the 200 ms pings, so a busy machine's event-loop stalls do not look like silence.
  const IDLE_TIMEOUT_MS = 1_500;
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]), { sim: { idleTimeoutMs: IDLE_TIMEOUT_MS } });

  it('keeps a client that pings, and drops one that stopped sending, freeing its account for the next login', async () => {
    const { auth, socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, PHONE), track, { keepAliveIntervalMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_TIMEOUT_MS));
    expect(sim.stats()).toMatchObject({ live: 1, idleDrops: 0 });
    const pinging = closeCode(socket);
    socket.end(undefined);
    await pinging;
    await until(() => sim.stats().live === 0);

    // A socket that says nothing at all, like a process paused mid-handshake.
    const silent = new WebSocket(`ws://127.0.0.1:${port}/ws/chat`);
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    expect(sim.stats().idleDrops).toBe(1);

    // A logged-in client that sends nothing more (its pings a minute apart), as a paused process would.
    const quiet = connect(port, copyAuthState(auth), undefined, { keepAliveIntervalMs: 60_000 });
    track(quiet);
    await nextUpdate(quiet, opened);
    const dropped = closeCode(quiet);
    expect(await dropped).not.toBe(DisconnectReason.connectionReplaced);
    await until(() => sim.stats().live === 0);
    expect(sim.stats().idleDrops).toBe(2);

    const next = connect(port, copyAuthState(auth));
    track(next);
    await nextUpdate(next, opened);
    expect(sim.stats()).toMatchObject({ logins: 3, conflicts: 0, live: 1 });
  });
});
