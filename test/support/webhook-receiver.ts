import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** How far a Standard Webhooks timestamp may be from the moment of arrival. */
const TOLERANCE_S = 5 * 60;

/** One request a receiver got. */
export interface ReceivedHook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived, ms since the epoch. */
  at: number;
  /** The status it was answered with. */
  status: number;
  /** When the answer went out, ms since the epoch; undefined while it is still being answered. */
  answeredAt?: number;
}

/**
 * Whether `hook` carries a valid Standard Webhooks signature by `secret`, with a timestamp within the
 * standard's five minutes of when the hook arrived. The library's own `verify` measures the timestamp
 * against the clock at the time it is called, so a long test that checks its hooks at the end would
 * reject the early ones for their age; the signature itself is the library's.
 */
export function signedBy(secret: string, hook: ReceivedHook): boolean {
  const timestamp = Number(hook.headers['webhook-timestamp']);
  if (!Number.isInteger(timestamp) || Math.abs(hook.at / 1000 - timestamp) > TOLERANCE_S) return false;
  const expected = new Webhook(secret).sign(String(hook.headers['webhook-id']), new Date(timestamp * 1000), hook.body);
  return String(hook.headers['webhook-signature'] ?? '').split(' ').includes(expected);
}

/** How a path answers: a status (and headers), after an optional delay. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
}

/**
 * A webhook endpoint on 127.0.0.1 that records every request and answers each path as told: a fixed
 * reply, or a function of how many requests that path has had (1 for the first). Unknown paths get 204.
 * It also counts overlapping attempts: a request that arrives while another one with the same
 * `webhook-id` is still unanswered.
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  overlaps = 0;
  private readonly unanswered = new Map<string, number>();
  private readonly replies = new Map<string, Reply | ((nth: number) => Reply)>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const nth = this.received.filter((hook) => hook.path === path).length + 1;
        const rule = this.replies.get(path);
        const reply = typeof rule === 'function' ? rule(nth) : (rule ?? { status: 204 });
        const hook: ReceivedHook = { path, headers: request.headers, body: Buffer.concat(chunks).toString(), at: Date.now(), status: reply.status };
        this.received.push(hook);
        const id = String(request.headers['webhook-id'] ?? '');
        const open = this.unanswered.get(id) ?? 0;
        if (open > 0) this.overlaps++;
        this.unanswered.set(id, open + 1);
        const answer = () => {
          response.writeHead(reply.status, reply.headers ?? {}).end(reply.status === 204 ? undefined : `answer ${reply.status}`);
          hook.answeredAt = Date.now();
          const left = (this.unanswered.get(id) ?? 1) - 1;
          if (left > 0) this.unanswered.set(id, left);
          else this.unanswered.delete(id);
        };
        if (reply.delayMs) setTimeout(answer, reply.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Makes `path` answer with `reply` from now on. */
  answer(path: string, reply: Reply | ((nth: number) => Reply)): void {
    this.replies.set(path, reply);
  }

  at(path: string): ReceivedHook[] {
    return this.received.filter((hook) => hook.path === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }
}
