import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidField, WaSimError } from './wa-sim.errors';
import type { MessageAction } from './inbound-messages';
import type { RecipientFailure } from './virtual-phones';
import type { WaSimServer } from './wa-sim.server';

/** Bodies are a QR, a code, phone numbers, a text or a small base64 image; anything near this size is not a control request. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const PHONE = /^\d{5,20}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

type Sim = Pick<
  WaSimServer,
  | 'scanQr'
  | 'enterPairingCode'
  | 'logoutDevice'
  | 'deliverMessage'
  | 'deliverImage'
  | 'deliverAction'
  | 'chatstatesTo'
  | 'inbox'
  | 'listAccounts'
  | 'stats'
  | 'messagesTo'
  | 'failRecipient'
  | 'clearRecipientFailure'
  | 'mediaCertificate'
>;

/**
 * The sim's HTTP control API, beside the WebSocket on the same port: what a test does as the phone
 * (scan, enter a pairing code, log a device out), what other phones do (send an account a message) and
 * what it reads back (accounts, an account's inbox, stats). Errors are
 * `{ error: { code, message } }`; a 500 answers only an error id and logs the rest.
 *
 * Recipients (any number a client sends to, paired or not):
 * - `POST /recipients/:phone/fail` with `{ "mode": "error", "code"?: 400–599 }` refuses its messages:
 *   the `ack` carries `error` (default 500, Baileys status ERROR) and no receipt follows; with
 *   `{ "mode": "offline" }` its messages are acked but not delivered, read or played while it stays so.
 * - `DELETE /recipients/:phone/fail` makes it answer normally again; an offline one comes back online
 *   and confirms (delivered, read, played) what it was sent meanwhile.
 * - `GET /recipients/:phone/messages` lists what it was sent, one entry per message id:
 *   `{ data: [{ id, to, from, type, mediaType?, edit?, at, copies, text?, content? }] }`, `content` being
 *   what its phone decrypted (see DecodedContent: kind, text, media fetched and decrypted, location,
 *   contact, reaction/edit/revoke target, quoted id, mentions).
 * - `GET /recipients/:phone/chatstates` lists the typing indicators it was sent: `{ data: [{ from, state, at }] }`.
 *
 * Other phones write to an account with `POST /accounts/:phone/messages` and `{ from, … }` plus one of:
 * `text`; `image` (base64) with `caption?`, `mimetype?`; `reaction: { target, emoji }`;
 * `edit: { target, text }`; `revoke: { target }` (edit and revoke only of a message `from` sent).
 *
 * `GET /media/certificate` answers `{ certificate }`: the PEM a client out of process trusts to upload
 * media (`fetchAgent: new https.Agent({ ca: certificate })`); the media host itself comes in `media_conn`.
 */
export class WaSimController {
  constructor(
    private readonly sim: Sim,
    private readonly log: (event: Record<string, unknown>) => void = () => {},
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req)
      .then((body) => reply(res, 200, body))
      .catch((err: unknown) => {
        if (err instanceof WaSimError) return reply(res, err.status, { error: { code: err.code, message: err.message } });
        const id = randomUUID();
        this.log({ event: 'http-error', id, method: req.method, url: req.url, err: String(err) });
        reply(res, 500, { error: { code: 'internal', message: `internal error ${id}` } });
      });
  }

  private async route(req: IncomingMessage): Promise<unknown> {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    const logout = /^\/accounts\/([^/]+)\/logout$/.exec(path);
    const recipient = /^\/recipients\/([^/]+)\/(fail|messages|chatstates)$/.exec(path);
    if (recipient) return this.routeRecipient(req, decodeURIComponent(recipient[1]!), recipient[2]!);
    const messages = /^\/accounts\/([^/]+)\/messages$/.exec(path);
    const inbox = /^\/accounts\/([^/]+)\/inbox$/.exec(path);
    if (req.method === 'POST' && path === '/scan') {
      const body = await readJsonObject(req);
      const qr = body.qr;
      const phone = body.phone;
      if (typeof qr !== 'string' || qr.length === 0) throw invalidField('qr', 'a non-empty string');
      if (typeof phone !== 'string' || !PHONE.test(phone)) throw invalidField('phone', 'a string of 5 to 20 digits');
      const { jid } = await this.sim.scanQr(qr, phone);
      return { jid };
    }
    if (req.method === 'POST' && path === '/pair-code') {
      const body = await readJsonObject(req);
      const code = body.code;
      const phone = body.phone;
      if (typeof phone !== 'string' || !PHONE.test(phone)) throw invalidField('phone', 'a string of 5 to 20 digits');
      if (typeof code !== 'string' || code.length === 0) throw invalidField('code', 'a non-empty string');
      const { jid } = await this.sim.enterPairingCode(phone, code);
      return { jid };
    }
    if (req.method === 'POST' && logout) {
      const phone = decodeURIComponent(logout[1]!);
      return { phone, devices: await this.sim.logoutDevice(phone) };
    }
    if (req.method === 'POST' && messages) {
      const body = await readJsonObject(req);
      const phone = decodeURIComponent(messages[1]!);
      const { from, text, image, caption, mimetype } = body;
      if (typeof from !== 'string' || !PHONE.test(from)) throw invalidField('from', 'a string of 5 to 20 digits');
      const action = parseAction(body);
      if (action) return this.sim.deliverAction(phone, { from, action });
      if (image === undefined) {
        if (typeof text !== 'string' || text.length === 0) throw invalidField('text', 'a non-empty string');
        return this.sim.deliverMessage(phone, { from, text });
      }
      if (text !== undefined) throw invalidField('text', 'absent when "image" is given (use "caption")');
      if (typeof image !== 'string' || !BASE64.test(image)) throw invalidField('image', 'non-empty base64');
      if (caption !== undefined && typeof caption !== 'string') throw invalidField('caption', 'a string');
      if (mimetype !== undefined && (typeof mimetype !== 'string' || !mimetype.startsWith('image/'))) {
        throw invalidField('mimetype', 'an image/* media type');
      }
      return this.sim.deliverImage(phone, { from, image: { data: Buffer.from(image, 'base64'), caption, mimetype } });
    }
    if (req.method === 'GET' && inbox) return { data: this.sim.inbox(decodeURIComponent(inbox[1]!)) };
    if (req.method === 'GET' && path === '/accounts') return { data: this.sim.listAccounts() };
    if (req.method === 'GET' && path === '/stats') return this.sim.stats();
    if (req.method === 'GET' && path === '/media/certificate') return { certificate: this.sim.mediaCertificate() };
    throw notFound(req.method, path);
  }

  private async routeRecipient(req: IncomingMessage, phone: string, action: string): Promise<unknown> {
    const route = `${req.method} ${action}`;
    if (!['POST fail', 'DELETE fail', 'GET messages', 'GET chatstates'].includes(route)) throw notFound(req.method, `/recipients/${phone}/${action}`);
    if (!PHONE.test(phone)) throw new WaSimError('invalid_phone', 400, `"${phone}" is not a phone number of 5 to 20 digits`);
    if (route === 'GET messages') {
      return { data: this.sim.messagesTo(phone).map(({ message: _content, ...summary }) => summary) };
    }
    if (route === 'GET chatstates') return { data: this.sim.chatstatesTo(phone) };
    if (route === 'DELETE fail') {
      this.sim.clearRecipientFailure(phone);
      return { phone, failure: null };
    }
    const body = await readJsonObject(req);
    const failure = parseFailure(body);
    this.sim.failRecipient(phone, failure);
    return { phone, failure };
  }
}

/** A reaction, edit or revoke in a message body; undefined when the body holds none. */
function parseAction(body: Record<string, unknown>): MessageAction | undefined {
  const given = (['reaction', 'edit', 'revoke'] as const).filter((field) => body[field] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length > 1 || body.text !== undefined || body.image !== undefined) {
    throw invalidField(given[0]!, 'the only content of the message (no text, image or other action beside it)');
  }
  const field = given[0]!;
  const value = body[field];
  if (typeof value !== 'object' || value === null) throw invalidField(field, 'an object');
  const { target, emoji, text } = value as Record<string, unknown>;
  if (typeof target !== 'string' || target.length === 0) throw invalidField(`${field}.target`, 'a message id');
  if (field === 'reaction') {
    if (typeof emoji !== 'string') throw invalidField('reaction.emoji', "a string ('' removes the reaction)");
    return { type: 'reaction', target, emoji };
  }
  if (field === 'edit') {
    if (typeof text !== 'string' || text.length === 0) throw invalidField('edit.text', 'a non-empty string');
    return { type: 'edit', target, text };
  }
  return { type: 'revoke', target };
}

function parseFailure(body: Record<string, unknown>): RecipientFailure {
  if (body.mode === 'offline') return { mode: 'offline' };
  if (body.mode !== 'error') throw invalidField('mode', '"error" or "offline"');
  const code = body.code ?? 500;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 599) {
    throw invalidField('code', 'an integer from 400 to 599');
  }
  return { mode: 'error', code };
}

function notFound(method: string | undefined, path: string): WaSimError {
  return new WaSimError('not_found', 404, `no route ${method} ${path}`);
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new WaSimError('body_too_large', 413, `body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new WaSimError('invalid_json', 400, 'body must be a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WaSimError('invalid_json', 400, 'body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
}
