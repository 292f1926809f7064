import { Logger } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashKey, keyMatches, newAdminKey } from './api-key.secret';

export const ADMIN_KEY_FILE = 'admin-api-key';

/**
 * The admin key: `ADMIN_API_KEY`, or on the embedded default a key generated on first boot into
 * `DATA_DIR/admin-api-key` (mode 0600) and printed once. Only its hash stays in memory.
 */
export class AdminKey {
  private constructor(
    private readonly hash: Buffer,
    /** Where the key is kept when it was generated; undefined when it comes from the environment. */
    readonly file?: string,
  ) {}

  static load(config: AppConfig): AdminKey {
    if (config.auth.adminApiKey) return new AdminKey(hashKey(config.auth.adminApiKey));
    const file = join(config.database.dataDir, ADMIN_KEY_FILE);
    const existing = readIfPresent(file);
    if (existing) return new AdminKey(hashKey(existing), file);
    const key = newAdminKey();
    mkdirSync(config.database.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    announce(key, file);
    new Logger('Auth').log({ file }, 'Admin API key generated');
    return new AdminKey(hashKey(key), file);
  }

  /** Whether the presented key, or a key whose hash this is (hashKey), is the admin key. */
  matches(presented: string | Buffer): boolean {
    return keyMatches(presented, this.hash);
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The one time the key is shown: on stdout, outside the JSON log, so it is never in a log line. */
function announce(key: string, file: string): void {
  process.stdout.write(
    [
      '',
      '  wafleet: a new admin API key was generated (shown only this once).',
      `    X-API-Key: ${key}`,
      `  It is kept in ${file} (mode 0600). Set ADMIN_API_KEY to use your own.`,
      '',
      '',
    ].join('\n'),
  );
}
