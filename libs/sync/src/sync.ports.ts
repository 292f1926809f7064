/**
 * The primitives replicas coordinate through. Domain code injects these abstract classes; SyncModule
 * binds them to the in-process classes (SYNC_BACKEND=memory) or the Redis ones (SYNC_BACKEND=redis).
 * Both pass the same contract suite (libs/sync/test/primitives.contract.ts).
 *
 * Any call of the Redis binding may reject with SyncUnavailableError (Redis unreachable or too slow);
 * the memory binding never does, so code paths that handle it are tested against the Redis binding.
 * Bad arguments (a ttl that is not a whole number of ms ≥ 1, …) throw RangeError on both.
 */

/**
 * A mutual-exclusion lease on a key; only the holder of the token can extend or release it. Locks live
 * in Redis memory: a Redis restarted without persistence forgets them, so work that must never run twice
 * also needs a guard in the database (a fencing epoch, a row state written before acting).
 */
export abstract class Lock {
  /** A token when the lock was free (or expired), else null. */
  abstract acquire(key: string, ttlMs: number): Promise<string | null>;
  /** True when `token` still holds the lock, which now lasts `ttlMs` from now. */
  abstract extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** True when `token` held the lock and released it. */
  abstract release(key: string, token: string): Promise<boolean>;
}

export type MessageHandler = (message: unknown) => void;

/**
 * Fan-out messages, JSON-serialisable, at most once. Subscribers on the publishing instance get the
 * message at once, before `publish` talks to Redis; if Redis is unreachable `publish` then rejects with
 * SyncUnavailableError, the local subscribers having been served. Durable state never rides on this.
 */
export abstract class PubSub {
  abstract publish(channel: string, message: unknown): Promise<void>;
  /** Resolves to the function that unsubscribes this handler. */
  abstract subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
}

export interface TakeResult {
  allowed: boolean;
  /** What is left of the limit in this window after this call. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/**
 * Counters in fixed windows that start at the first count; one atomic step each, across replicas. A
 * fixed window lets up to 2 × limit through around a window boundary. A `take` that fails with
 * SyncUnavailableError may still have counted: each caller decides to fail open or closed.
 */
export abstract class Counters {
  /** Adds `by` and returns the window's new total. */
  abstract incr(key: string, by: number, windowMs: number): Promise<number>;
  /** Counts one more (or `cost`) only if that stays within `limit` in the window. */
  abstract take(key: string, limit: number, windowMs: number, cost?: number): Promise<TakeResult>;
  /**
   * Uncounts `cost` that a `take` counted, for what turned out not to happen: from the window open now,
   * never below zero, without moving its end. A caller whose windows are periods in the key (the daily
   * quota's `quota:<tenant>:<day>`) gives back to the very window it took from.
   */
  abstract giveBack(key: string, cost?: number): Promise<void>;
}

/** A shared cache of JSON values: what one replica sets or deletes, every replica sees. */
export abstract class Cache {
  abstract get<T = unknown>(key: string): Promise<T | undefined>;
  abstract set(key: string, value: unknown, ttlMs: number): Promise<void>;
  abstract del(key: string): Promise<void>;
}

/**
 * One side waits for a value the other side signals, on any replica. A signal that comes first is kept
 * for RENDEZVOUS_TTL_MS and resolves a later wait.
 */
export abstract class Rendezvous {
  /** The signalled value, or undefined when `timeoutMs` passes first. */
  abstract wait<T = unknown>(key: string, timeoutMs: number): Promise<T | undefined>;
  abstract signal(key: string, value: unknown): Promise<void>;
}

export type CommandHandler = (payload: unknown) => Promise<unknown> | unknown;

/** Request/reply to one named replica. */
export abstract class Bus {
  /** Serves `command` on this instance; a DomainError thrown by `handler` reaches the caller with its code. */
  abstract handle(command: string, handler: CommandHandler): void;
  /**
   * Runs `command` on `instanceId`. Rejects with BusUnknownInstanceError, BusTimeoutError,
   * BusPayloadTooLargeError, BusRemoteError (the handler's own failure) or SyncUnavailableError.
   */
  abstract request<T = unknown>(instanceId: string, command: string, payload: unknown, timeoutMs: number): Promise<T>;
}

export interface InstanceInfo {
  id: string;
  version: string;
  startedAt: string;
  heartbeatAt: string;
  /** What modules reported about this instance (capacity, sessions owned, draining, …). */
  reports: Record<string, unknown>;
}

/** This instance's heartbeat and the list of live instances. */
export abstract class Cluster {
  abstract readonly instanceId: string;
  /** Sets a value carried in this instance's heartbeats; a change is sent at once, not at the next beat. */
  abstract report(key: string, value: unknown): void;
  /** Instances heard from within HEARTBEAT_TIMEOUT_MS, this one included, sorted by id. */
  abstract instances(): Promise<InstanceInfo[]>;
}
