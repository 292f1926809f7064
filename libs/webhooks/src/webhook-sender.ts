import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseRetryAfter, type AttemptResult } from './retry-policy';
import type { ResolvedTarget } from './webhook-target';

/** How much of an answer's body is kept for `last_error`. */
const ERROR_BODY_CHARS = 256;
/** Past this many bytes an answer's body is not read further (the connection is dropped instead). */
const BODY_READ_LIMIT = 64 * 1024;

/**
 * POSTs webhook bodies over kept-alive connections, to the address the target check resolved (never a
 * second lookup), within WEBHOOK_TIMEOUT_MS for the whole exchange. Redirects are not followed: a 3xx
 * is a failed attempt like any other non-2xx. Never throws: every way an attempt can end is an
 * AttemptResult.
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly timeoutMs: number;

  constructor(config: AppConfig) {
    const options = { keepAlive: true, maxSockets: config.webhooks.concurrency, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(options), https: new https.Agent(options) };
    this.timeoutMs = config.webhooks.timeoutMs;
  }

  onApplicationShutdown(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  post(target: ResolvedTarget, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<AttemptResult> {
    const { url, address, family } = target;
    const pinned: LookupFunction = (_host, options, callback) =>
      (options as { all?: boolean }).all ? (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]) : callback(null, address, family);
    const secure = url.protocol === 'https:';
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const request = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent: secure ? this.agents.https : this.agents.http,
        lookup: pinned,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'wafleet-webhooks',
          ...(url.username ? { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` } : {}),
        },
      });
      const timer = setTimeout(() => {
        finish({ error: `timeout: no complete answer within ${this.timeoutMs} ms` });
        request.destroy();
      }, this.timeoutMs);
      const onAbort = () => {
        finish({ error: 'aborted: this instance is shutting down' });
        request.destroy();
      };
      signal?.addEventListener('abort', onAbort);
      request.on('error', (error: NodeJS.ErrnoException) => finish({ error: `${error.code ?? 'error'}: ${error.message}`.slice(0, 500) }));
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        // Only a failure's body is kept (for last_error); a success's is counted and dropped.
        const keep = status < 200 || status >= 300;
        let text = '';
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          if (keep && text.length < ERROR_BODY_CHARS) text += chunk.toString('utf8', 0, ERROR_BODY_CHARS - text.length);
          read += chunk.length;
          if (read > BODY_READ_LIMIT) {
            response.destroy();
            finish(outcome(status, text, response.headers));
          }
        });
        response.on('end', () => finish(outcome(status, text, response.headers)));
        response.on('error', () => finish(outcome(status, text, response.headers)));
      });
      request.end(body);
    });
  }
}

function outcome(status: number, text: string, headers: http.IncomingHttpHeaders): AttemptResult {
  if (status >= 200 && status < 300) return { status };
  const snippet = text.replace(/\s+/g, ' ').trim();
  const error =
    status >= 300 && status < 400
      ? `HTTP ${status}: redirect to ${String(headers.location ?? '(no location)').slice(0, 200)} not followed`
      : `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  const retryAfter = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after']) : undefined;
  return { status, error, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
}
