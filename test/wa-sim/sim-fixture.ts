import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import type { Socket } from './baileys-client';
import { unrefPreKeyUploadTimers } from './baileys-timers';

/**
 * A fresh wa-sim for every test of the block, handed to `onStart` with its port; Baileys' pre-key upload
 * timers unref'd for the block; every socket passed to the returned `track` ended after each test.
 */
export function useSim(onStart: (sim: WaSimServer, port: number) => void): (socket: Socket) => Socket {
  const sockets: Socket[] = [];
  let sim: WaSimServer;
  let restoreTimers: () => void;
  beforeAll(() => {
    restoreTimers = unrefPreKeyUploadTimers();
  });
  afterAll(() => restoreTimers());
  beforeEach(async () => {
    sim = new WaSimServer();
    onStart(sim, await sim.start());
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.end(undefined);
    await sim.stop();
  });
  return (socket) => {
    sockets.push(socket);
    return socket;
  };
}
