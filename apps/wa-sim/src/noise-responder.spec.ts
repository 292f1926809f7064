import { Curve, decodeBinaryNode, encodeBinaryNode, initAuthCreds, makeNoiseHandler, NOISE_WA_HEADER, proto } from 'baileys';
import pino from 'pino';
import { encodeFrame, FrameReader } from './frames';
import { NoiseResponder } from './noise-responder';
import { createServerIdentity } from './server-identity';

/** Baileys' own initiator, driven by hand, is the reference the responder must agree with. */
function baileysInitiator() {
  const ephemeral = Curve.generateKeyPair();
  const noise = makeNoiseHandler({
    keyPair: ephemeral,
    NOISE_HEADER: NOISE_WA_HEADER,
    logger: pino({ level: 'silent' }) as never,
  });
  return { ephemeral, noise };
}

describe('NoiseResponder', () => {
  it('completes the XX handshake with Baileys and exchanges transport frames both ways', async () => {
    const creds = initAuthCreds();
    const identity = createServerIdentity();
    const responder = new NoiseResponder(identity);
    const { ephemeral, noise } = baileysInitiator();

    const serverHello = responder.answerHello(
      proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish(),
    );
    const keyEnc = noise.processHandshake(proto.HandshakeMessage.decode(serverHello), creds.noiseKey);
    const payloadEnc = noise.encrypt(proto.ClientPayload.encode({ username: 15550001111, device: 2 }).finish());
    const { clientStaticKey, payload, transport } = responder.finish(
      proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: payloadEnc } }).finish(),
    );
    await noise.finishInit();

    expect(clientStaticKey.equals(Buffer.from(creds.noiseKey.public))).toBe(true);
    expect(Number(payload.username)).toBe(15550001111);
    expect(payload.device).toBe(2);

    // The intro header rides on the initiator's first frame only, so one reader sees the whole stream.
    const reader = new FrameReader();
    for (const id of ['a', 'b']) {
      const fromClient = noise.encodeFrame(encodeBinaryNode({ tag: 'iq', attrs: { id } }));
      const [frame] = reader.push(fromClient);
      expect((await decodeBinaryNode(transport.decrypt(frame!))).attrs.id).toBe(id);

      const received: unknown[] = [];
      await noise.decodeFrame(encodeFrame(transport.encrypt(encodeBinaryNode({ tag: 'ack', attrs: { id } }))), (node) =>
        received.push(node),
      );
      expect(received).toEqual([expect.objectContaining({ tag: 'ack', attrs: { id } })]);
    }
  });

  it('rejects a clientFinish encrypted under the wrong keys', () => {
    const creds = initAuthCreds();
    const responder = new NoiseResponder(createServerIdentity());
    const { ephemeral, noise } = baileysInitiator();
    const serverHello = responder.answerHello(
      proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish(),
    );
    noise.processHandshake(proto.HandshakeMessage.decode(serverHello), creds.noiseKey);

    const forged = proto.HandshakeMessage.encode({
      clientFinish: { static: Buffer.alloc(48, 1), payload: Buffer.alloc(32, 2) },
    }).finish();

    expect(() => responder.finish(forged)).toThrow();
  });
});

describe('FrameReader', () => {
  it('strips the intro header once and reassembles frames split and batched across messages', () => {
    const reader = new FrameReader();
    const bytes = Buffer.concat([NOISE_WA_HEADER, encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two'))]);

    const first = reader.push(bytes.subarray(0, 9));
    const rest = reader.push(bytes.subarray(9));

    expect([...first, ...rest].map((f) => f.toString())).toEqual(['one', 'two']);
  });

  it('refuses a stream that does not start with the WA header', () => {
    expect(() => new FrameReader().push(Buffer.from('ED\0\x01abcd'))).toThrow(/intro header/);
  });
});
