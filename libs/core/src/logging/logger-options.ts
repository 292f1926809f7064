import type { AppConfig } from '@wafleet/config';
import type { LoggerOptions } from 'pino';

/** Paths that may hold a secret anywhere in a log object; pino replaces their values. */
export const REDACTED_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.adminApiKey',
  '*.secret',
  '*.password',
  '*.key',
];

/** Options shared by the boot logger and the request logger, so both write the same lines. */
export function loggerOptions(config: Pick<AppConfig, 'instanceId' | 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { instanceId: config.instanceId, pid: process.pid },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    messageKey: 'msg',
  };
}
