import type { AuthenticationCreds, SignalKeyStore } from 'baileys';
import { StaleEpochError } from './auth-state.errors';
import type { AuthStateStore } from './auth-state.store';

/** What the writes log; the engine's logger fits. */
interface WriteLogger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/**
 * An engine run's writes of its auth state, fenced on the owner's epoch. The first write that meets a
 * newer epoch fences the run off (`onFenced`): from then on nothing is written. A wipe refuses further
 * writes before it deletes, so a straggling write of the dead socket cannot bring the state back.
 */
export class FencedAuthWrites {
  /** Set once a write met a newer epoch. */
  private staleEpoch?: StaleEpochError;
  /** Set before the auth state is wiped. */
  private writesRefused = false;
  /** Writes of keys (and staged stanzas) under way, so a wipe can wait for the ones that began before it. */
  private readonly keyWrites = new Set<Promise<void>>();
  /** Creds writes in order: each persists the whole (mutated in place) object, so a late older one must not win. */
  private credsWrites: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AuthStateStore,
    private readonly sessionId: string,
    private readonly logger: WriteLogger,
    private readonly onFenced: () => void,
  ) {}

  /** A newer owner holds the session: this run must neither write nor reconnect. */
  get fenced(): boolean {
    return this.staleEpoch !== undefined;
  }

  /** A new run of the engine starts unfenced and writing. */
  reset(): void {
    this.staleEpoch = undefined;
    this.writesRefused = false;
  }

  /** Settles once every creds write asked for so far has landed (or failed). */
  credsSaved(): Promise<void> {
    return this.credsWrites;
  }

  /** Writes `creds` whole, after the writes before it; a failure is logged, and the next update writes them again. */
  saveCreds(creds: AuthenticationCreds): void {
    this.credsWrites = this.credsWrites.then(async () => {
      if (this.staleEpoch || this.writesRefused) return;
      try {
        await this.store.saveCreds(creds);
      } catch (error) {
        if (error instanceof StaleEpochError) this.fence(error);
        // The creds stay in memory and the next creds.update writes them whole again.
        else this.logger.error({ err: error }, 'saving creds failed');
      }
    });
  }

  /** Keys as Baileys sees them: reads go straight through, writes notice being fenced off. */
  keys(keys: SignalKeyStore): SignalKeyStore {
    return {
      get: (type, ids) => keys.get(type, ids),
      set: async (data) => {
        try {
          await this.alongside(async () => keys.set(data));
        } catch (error) {
          if (error instanceof StaleEpochError) this.fence(error);
          throw error;
        }
      },
    };
  }

  /**
   * Runs a write of what the link holds (keys, InboundStaging's rows): refused once fenced off or wiped,
   * and waited for by a wipe that comes while it is under way.
   */
  async alongside(write: () => Promise<void>): Promise<void> {
    if (this.staleEpoch) throw this.staleEpoch;
    if (this.writesRefused) throw new Error(`session ${this.sessionId} was logged out; nothing more of it is written`);
    const pending = write();
    this.keyWrites.add(pending);
    try {
      await pending;
    } finally {
      this.keyWrites.delete(pending);
    }
  }

  /**
   * Lets the creds writes asked for land, refuses further writes, lets key writes under way land, then
   * wipes the stored state.
   * @returns false when another owner holds the session now: its auth state is theirs to keep or wipe
   */
  async wipe(): Promise<boolean> {
    await this.credsWrites;
    this.writesRefused = true;
    // A key write that began before the refusal must land before the wipe, or it would outlive it.
    await Promise.allSettled([...this.keyWrites]);
    try {
      await this.store.wipe();
    } catch (error) {
      if (error instanceof StaleEpochError) return false;
      this.logger.error({ err: error }, 'wiping the auth state failed');
    }
    return true;
  }

  private fence(error: StaleEpochError): void {
    if (this.staleEpoch) return;
    this.staleEpoch = error;
    this.logger.warn({ heldEpoch: error.heldEpoch, currentEpoch: error.currentEpoch }, 'fenced off by a newer owner');
    this.onFenced();
  }
}
