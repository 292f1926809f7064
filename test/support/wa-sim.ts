import type { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';

/**
 * The phone enters a pairing code. Baileys sends the code request without awaiting WhatsApp's answer,
 * so a code can be in hand a moment before the sim has the request: retry while nobody waits yet.
 */
export async function enterPairingCode(sim: WaSimServer, phone: string, code: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await sim.enterPairingCode(phone, code);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'no_code_request' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
