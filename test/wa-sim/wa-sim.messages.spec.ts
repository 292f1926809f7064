import { createDecipheriv, createHash } from 'node:crypto';
import { Agent, get } from 'node:https';
import { getMediaKeys, proto, type WAMessageUpdate } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { pairAndLogin, type Socket } from './baileys-client';
import { useSim } from './sim-fixture';

const SENDER = '15550004444';
const RECIPIENT = '15550005555';
const { DELIVERY_ACK, READ, PLAYED, ERROR } = proto.WebMessageInfo.Status;

describe('wa-sim: messages an unmodified Baileys client sends', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  async function loggedIn(phone = SENDER): Promise<Socket> {
    const fetchAgent = new Agent({ ca: sim.mediaCertificate() });
    const { socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, phone), track, {
      fetchAgent,
      // Without a phone to send history, a first login would buffer events 20 s waiting for it.
      shouldSyncHistoryMessage: () => false,
    });
    return socket;
  }

  it('acks a text and reports it delivered, then read, in that order', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);

    const sent = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, { text: 'hello there' });

    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    const [arrived] = sim.messagesTo(RECIPIENT);
    expect(arrived).toMatchObject({ id: sent!.key.id, to: `${RECIPIENT}@s.whatsapp.net`, from: `${SENDER}:1@s.whatsapp.net`, type: 'text', copies: 1 });
    await waitFor(() => sim.messagesTo(RECIPIENT)[0]?.text !== undefined);
    expect(sim.messagesTo(RECIPIENT)[0]?.text).toBe('hello there');
    expect(sim.stats().messagesByRecipient).toEqual({ [`${RECIPIENT}@s.whatsapp.net`]: 1 });
  });
});

/** Every status `messages.update` reports for each message id, in arrival order. */
function statusesOf(socket: Socket): (id: string) => number[] {
  const seen = new Map<string, number[]>();
  socket.ev.on('messages.update', (updates: WAMessageUpdate[]) => {
    for (const { key, update } of updates) {
      if (update.status === undefined || update.status === null || !key.id) continue;
      seen.set(key.id, [...(seen.get(key.id) ?? []), update.status]);
    }
  });
  return (id) => seen.get(id) ?? [];
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
