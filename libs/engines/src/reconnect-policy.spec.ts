import { DisconnectReason } from 'baileys';
import { ReconnectPolicy } from './reconnect-policy';

describe('ReconnectPolicy', () => {
  const paired = { paired: true, showedQr: false };
  const registering = { paired: false, showedQr: true };
  const fixed = () => new ReconnectPolicy({ initialDelayMs: 100, maxDelayMs: 1000, maxBadSessionRetries: 2 }, () => 1);

  it('reconnects at once on restartRequired, paired or not', () => {
    expect(fixed().decide(DisconnectReason.restartRequired, paired)).toEqual({ kind: 'reconnect', delayMs: 0 });
    expect(fixed().decide(DisconnectReason.restartRequired, registering)).toEqual({ kind: 'reconnect', delayMs: 0 });
  });

  it.each([DisconnectReason.loggedOut, DisconnectReason.forbidden, DisconnectReason.multideviceMismatch])(
    'closes with logged_out and a wipe on %i',
    (code) => expect(fixed().decide(code, paired)).toEqual({ kind: 'close', reason: 'logged_out', wipe: true }),
  );

  it('closes with replaced on 440 and keeps the auth state', () => {
    expect(fixed().decide(DisconnectReason.connectionReplaced, paired)).toEqual({ kind: 'close', reason: 'replaced', wipe: false });
  });

  it('reads 408 as qr_expired only on an unpaired socket that showed a QR', () => {
    expect(fixed().decide(DisconnectReason.timedOut, registering)).toEqual({ kind: 'close', reason: 'qr_expired', wipe: false });
    expect(fixed().decide(DisconnectReason.timedOut, paired)).toMatchObject({ kind: 'reconnect' });
    // A connection error before any QR (ECONNRESET maps to 408 too) is transient.
    expect(fixed().decide(DisconnectReason.timedOut, { paired: false, showedQr: false })).toMatchObject({ kind: 'reconnect' });
  });

  it('backs off exponentially up to the cap on transient closes, and starts over after a login', () => {
    const policy = fixed();
    const delays = [428, 503, undefined, 408, 428, 428].map((code) => policy.decide(code, paired));
    expect(delays.map((d) => (d.kind === 'reconnect' ? d.delayMs : d))).toEqual([100, 200, 400, 800, 1000, 1000]);
    policy.opened();
    expect(policy.decide(428, paired)).toEqual({ kind: 'reconnect', delayMs: 100 });
  });

  it('keeps at least half of the delay when jittering', () => {
    const policy = new ReconnectPolicy({ initialDelayMs: 1000 }, () => 0);
    expect(policy.decide(428, paired)).toEqual({ kind: 'reconnect', delayMs: 500 });
  });

  it('gives up with failed after too many consecutive 500s, but not after a login in between', () => {
    const policy = fixed();
    expect(policy.decide(DisconnectReason.badSession, paired).kind).toBe('reconnect');
    expect(policy.decide(DisconnectReason.badSession, paired).kind).toBe('reconnect');
    policy.opened();
    expect(policy.decide(DisconnectReason.badSession, paired).kind).toBe('reconnect');
    expect(policy.decide(DisconnectReason.badSession, paired).kind).toBe('reconnect');
    expect(policy.decide(DisconnectReason.badSession, paired)).toEqual({ kind: 'close', reason: 'failed', wipe: false });
  });
});
