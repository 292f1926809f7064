import { startServer, tempDir } from '../support/server';

describe('a bad configuration stops the boot', () => {
  it.each([
    [{ SYNC_BACKEND: 'redis' }, /^wafleet: SYNC_BACKEND="redis" needs DATABASE_URL set to a postgres:\/\/ URL, .+\.\n$/],
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' }, /^wafleet: ADMIN_API_KEY is unset but DATABASE_URL is set: .+\.\n$/],
    [{ PORT: 'http' }, /^wafleet: PORT="http" is not accepted: PORT takes a whole number from 1 to 65535\.\n$/],
    [{ DATABASE_URL: 'mysql://db/app' }, /^wafleet: DATABASE_URL \(14 characters, not shown\) is not accepted: DATABASE_URL takes a postgres:\/\/ or postgresql:\/\/ URL\.\n$/],
    [{ LOG_LEVEL: 'chatty' }, /^wafleet: LOG_LEVEL="chatty" is not accepted: .+\.\n$/],
  ])('%j exits 1 with one sentence on stderr', async (env, sentence) => {
    const server = await startServer({ DATA_DIR: tempDir('config'), ...env }, { waitForReady: false });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(sentence);
    expect(server.stdout()).toBe('');
  });

  it('exits 1 naming the failure when PostgreSQL cannot be reached', async () => {
    const server = await startServer(
      { DATA_DIR: tempDir('config'), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', ADMIN_API_KEY: 'x'.repeat(40) },
      { waitForReady: false },
    );
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(/^wafleet: could not start: .*ECONNREFUSED.*\n$/m);
  });
});
