import { FastifyAdapter } from '@nestjs/platform-fastify';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { answerOversizedBodies } from './oversized-bodies';

const LIMIT = 100;
const LINGER_MS = 1_500;

/** Fastify as the API runs it: a body limit, the hook, one route that reads its body. */
async function server(): Promise<{ port: number; close(): Promise<void> }> {
  const fastify = new FastifyAdapter({ bodyLimit: LIMIT }).getInstance();
  answerOversizedBodies(fastify, LINGER_MS);
  fastify.post('/echo', async (request) => request.body);
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  return { port: (fastify.server.address() as AddressInfo).port, close: () => fastify.close() };
}

/** The heads of the answers on a connection; `answers(n)` waits for the first n, and fails if the connection closes first. */
function answersOn(socket: Socket): (count: number) => Promise<string[]> {
  let text = '';
  let closed = false;
  const waiting = new Set<() => void>();
  const wakeAll = () => [...waiting].forEach((wake) => wake());
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    wakeAll();
  });
  socket.on('close', () => {
    closed = true;
    wakeAll();
  });
  socket.on('error', () => undefined);
  const heads = () => [...text.matchAll(/HTTP\/1\.1 \d{3}[^\r]*\r\n[\s\S]*?\r\n\r\n/g)].map((match) => match[0]);
  return (count) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (heads().length < count && !closed) return;
        waiting.delete(check);
        if (heads().length >= count) resolve(heads().slice(0, count));
        else reject(new Error(`the server closed the connection after ${heads().length} of ${count} answers`));
      };
      waiting.add(check);
      check();
    });
}

/** Opens a connection and sends the head of a POST whose body is `length` bytes, and `sent` of them. */
async function oversizedPost(port: number, length: number, sent: number): Promise<{ socket: Socket; answers: (count: number) => Promise<string[]> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const answers = answersOn(socket);
  socket.write(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, ' '));
  return { socket, answers };
}

describe('a body over the limit', () => {
  let api: Awaited<ReturnType<typeof server>>;

  beforeAll(async () => {
    api = await server();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('gets its 413 on a connection that stays open, and one whose body never ends is closed after the linger', async () => {
    const { socket, answers } = await oversizedPost(api.port, 10 * LIMIT, 10);
    const [head] = await answers(1);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).not.toContain('connection: close');
    // Without the linger's end, Node would hold this connection until its request timeout (minutes).
    const closed = once(socket, 'close');
    const late = new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the connection outlived the linger by seconds')), LINGER_MS + 5_000).unref());
    await Promise.race([closed, late]);
    expect(socket.destroyed).toBe(true);
  });

  it('keeps a connection whose body ends within the linger, for the next request', async () => {
    const { socket, answers } = await oversizedPost(api.port, 10 * LIMIT, 10);
    expect((await answers(1))[0]).toMatch(/^HTTP\/1\.1 413 /);
    socket.write(Buffer.alloc(10 * LIMIT - 10, ' '));
    socket.write(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
    expect((await answers(2))[1]).toMatch(/^HTTP\/1\.1 200 /);
    await new Promise((done) => setTimeout(done, LINGER_MS + 200));
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });
});
