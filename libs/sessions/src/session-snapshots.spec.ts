import { SessionSnapshots } from './session-snapshots';
import type { SessionView } from './session.view';

const T = 'tenant-1';
const session = (id: string, name: string, desiredState: SessionView['desiredState'] = 'running'): SessionView => ({
  id,
  name,
  status: 'working',
  desiredState,
  me: { id: '1:1@s.whatsapp.net' },
  metadata: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

describe('SessionSnapshots', () => {
  let now = 0;
  let reads = 0;
  const clock = () => now;
  const reader = (view: SessionView) => async () => {
    reads++;
    return view;
  };

  beforeEach(() => {
    now = 1_000;
    reads = 0;
  });

  it('answers from a snapshot younger than the TTL, and reads again once it is older', async () => {
    const snapshots = new SessionSnapshots(250, clock);
    await snapshots.get(T, 's', reader(session('id-1', 's')));
    now += 249;
    expect(await snapshots.get(T, 's', reader(session('id-1', 's', 'stopped')))).toMatchObject({ desiredState: 'running' });
    expect(reads).toBe(1);
    now += 1;
    expect(await snapshots.get(T, 's', reader(session('id-1', 's', 'stopped')))).toMatchObject({ desiredState: 'stopped' });
    expect(reads).toBe(2);
  });

  it('keeps tenants apart and keeps nothing when the read fails', async () => {
    const snapshots = new SessionSnapshots(250, clock);
    await snapshots.get(T, 's', reader(session('id-1', 's')));
    expect(await snapshots.get('tenant-2', 's', reader(session('id-2', 's')))).toMatchObject({ id: 'id-2' });
    const missing = () => Promise.reject(new Error('not found'));
    await expect(snapshots.get(T, 'new', missing)).rejects.toThrow('not found');
    expect(await snapshots.get(T, 'new', reader(session('id-3', 'new')))).toMatchObject({ id: 'id-3' });
    expect(reads).toBe(3);
  });

  it('forgets a session by id under every name it was read by, and a name about to be taken', async () => {
    const snapshots = new SessionSnapshots(250, clock);
    await snapshots.get(T, 's', reader(session('id-1', 's')));
    await snapshots.get(T, 'id-1', reader(session('id-1', 's')));
    await snapshots.get(T, 'other', reader(session('id-2', 'other')));
    snapshots.forget(T, 'id-1');
    await snapshots.get(T, 's', reader(session('id-1', 's', 'stopped')));
    await snapshots.get(T, 'id-1', reader(session('id-1', 's', 'stopped')));
    await snapshots.get(T, 'other', reader(session('id-2', 'other')));
    expect(reads).toBe(5);
    snapshots.forget(T, undefined, 'other');
    expect(await snapshots.get(T, 'other', reader(session('id-4', 'other')))).toMatchObject({ id: 'id-4' });
  });

  it('does not keep a read that raced with a change', async () => {
    const snapshots = new SessionSnapshots(250, clock);
    let finish!: (view: SessionView) => void;
    const pending = snapshots.get(T, 's', () => new Promise<SessionView>((resolve) => (finish = resolve)));
    snapshots.forget(T, 'id-1');
    finish(session('id-1', 's'));
    await pending;
    await snapshots.get(T, 's', reader(session('id-1', 's', 'stopped')));
    expect(reads).toBe(1);
  });
});
