import pino from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions } from './logger-options';

describe('log redaction', () => {
  it('replaces keys, secrets and auth headers wherever a log object carries them', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _, done) => (lines.push(chunk.toString()), done()) });
    const logger = pino(loggerOptions({ instanceId: 'api-1', logLevel: 'info' }), sink);
    logger.info({
      req: { headers: { 'x-api-key': 'wfk_secret1', authorization: 'Bearer secret2', cookie: 'sid=secret3', host: 'visible-host' } },
      body: { apiKey: 'secret4', secret: 'secret5', password: 'secret6', name: 'visible-name' },
    });
    const line = lines.join('');
    for (const secret of ['secret1', 'secret2', 'secret3', 'secret4', 'secret5', 'secret6']) expect(line).not.toContain(secret);
    expect(line).toContain('visible-host');
    expect(line).toContain('visible-name');
    expect(JSON.parse(line)).toMatchObject({ instanceId: 'api-1', req: { headers: { 'x-api-key': '[redacted]' } } });
  });
});
