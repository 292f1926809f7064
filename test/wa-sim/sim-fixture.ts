import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import type { WaSimOptions } from '../../apps/wa-sim/src/wa-sim.types';
import type { Socket } from './baileys-client';
import { unrefPreKeyUploadTimers } from './baileys-timers';

export interface UseSimOptions {
  /**
   * `each`: a fresh sim for every test. `all`: one sim for the whole block, for tests that share a
   * client whose login (pairing, pre-key upload) costs seconds. @default 'each'
   */
  scope?: 'each' | 'all';
  /** How the sim is configured. @default its defaults */
  sim?: WaSimOptions;
}

/**
 * A fresh wa-sim for every test of the block (or one for the block), handed to `onStart` with its port;
 * Baileys' pre-key upload timers unref'd for the block; every socket passed to the returned `track`
 * ended when its sim stops.
 */
export function useSim(
  onStart: (sim: WaSimServer, port: number) => void,
  { scope = 'each', sim: simOptions }: UseSimOptions = {},
): (socket: Socket) => Socket {
  const sockets: Socket[] = [];
  let sim: WaSimServer;
  let restoreTimers: () => void;
  beforeAll(() => {
    restoreTimers = unrefPreKeyUploadTimers();
  });
  afterAll(() => restoreTimers());
  const start = async () => {
    sim = new WaSimServer(simOptions);
    onStart(sim, await sim.start());
  };
  const stop = async () => {
    for (const socket of sockets.splice(0)) socket.end(undefined);
    await sim.stop();
  };
  if (scope === 'all') {
    beforeAll(start);
    afterAll(stop);
  } else {
    beforeEach(start);
    afterEach(stop);
  }
  return (socket) => {
    sockets.push(socket);
    return socket;
  };
}
