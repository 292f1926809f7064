import { SessionLocks } from './session-locks';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('SessionLocks', () => {
  it('runs work for one session strictly one after another, in arrival order', async () => {
    const locks = new SessionLocks();
    const log: string[] = [];
    const step = (name: string) => locks.run('s1', async () => {
      log.push(`${name}:in`);
      await tick();
      log.push(`${name}:out`);
      return name;
    });
    expect(await Promise.all([step('a'), step('b'), step('c')])).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a:in', 'a:out', 'b:in', 'b:out', 'c:in', 'c:out']);
  });

  it('lets different sessions run at once, and a failure releases the lock', async () => {
    const locks = new SessionLocks();
    const log: string[] = [];
    const failing = locks.run('s1', async () => {
      log.push('s1:in');
      await tick();
      log.push('s1:out');
      throw new Error('boom');
    });
    const other = locks.run('s2', async () => log.push('s2:in'));
    await expect(failing).rejects.toThrow('boom');
    await other;
    expect(log).toEqual(['s1:in', 's2:in', 's1:out']);
    await expect(locks.run('s1', async () => 'again')).resolves.toBe('again');
  });
});
