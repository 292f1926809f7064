import { setMaxListeners } from 'node:events';
import type { WASocket } from 'baileys';
import { EngineNotConnectedError } from './engine.errors';

/**
 * How long a socket's WebSocket close handshake may take before the connection is cut. Baileys waits for
 * the handshake before it reports the close (and so before the engine logs in again), and a network that
 * went away never answers it: ws would give up only after 30 s.
 */
const CLOSE_HANDSHAKE_MS = 2_000;

/**
 * How an engine's sockets end, for the calls under way on them. Baileys drops the close listeners of the
 * queries still waiting when it ends a socket (the device lists and pre-keys a send asks for first), so
 * without this a send under way at a disconnect held its caller, and the session's send queue behind it,
 * for the full query timeout. Baileys reports a close once the WebSocket's close handshake is done, or
 * CLOSE_HANDSHAKE_MS after it began ending the socket.
 */
export class SocketEndings {
  /** Aborted, with the engine's state as the reason, when its socket ends. */
  private readonly endings = new WeakMap<WASocket, AbortController>();

  constructor(private readonly sessionId: string) {}

  /** Follows a new socket; the close handshake of its WebSocket is cut short after CLOSE_HANDSHAKE_MS. */
  follow(socket: WASocket): void {
    const ending = new AbortController();
    // One listener per call under way on the socket: presence and read calls can be many at once.
    setMaxListeners(Infinity, ending.signal);
    this.endings.set(socket, ending);
    capCloseHandshake(socket);
  }

  /** The socket ended: what is under way on it fails, saying the engine is `state`. */
  ended(socket: WASocket, state: string): void {
    this.endings.get(socket)?.abort(state);
  }

  /** `work`'s outcome, or EngineNotConnectedError once `socket` ends, whichever comes first. */
  untilEnded<T>(socket: WASocket, work: () => Promise<T>): Promise<T> {
    const ended = this.endings.get(socket)!.signal;
    return new Promise<T>((resolve, reject) => {
      const onEnd = () => reject(new EngineNotConnectedError(this.sessionId, String(ended.reason)));
      ended.addEventListener('abort', onEnd, { once: true });
      work()
        .then(resolve, reject)
        .finally(() => ended.removeEventListener('abort', onEnd));
    });
  }
}

/**
 * Makes Baileys' close of the socket's WebSocket cut the connection once the handshake took
 * CLOSE_HANDSHAKE_MS. This leans on Baileys' internals: its `end()` calls `close()` on this very client,
 * which closes the ws WebSocket it holds in `socket` and waits for its close event. The engine test of a
 * network loss fails if an upgrade changes that.
 */
function capCloseHandshake(socket: WASocket): void {
  const ws = socket.ws;
  const close = ws.close.bind(ws);
  ws.close = async () => {
    // `socket`, the ws WebSocket, is protected in Baileys' typings.
    const timer = setTimeout(() => (ws as unknown as { socket: { terminate(): void } | null }).socket?.terminate(), CLOSE_HANDSHAKE_MS);
    try {
      await close();
    } finally {
      clearTimeout(timer);
    }
  };
}
