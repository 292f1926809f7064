import { randomFillSync } from 'node:crypto';
import { v7 as uuidV7 } from 'uuid';

/** Random bytes drawn from the system at once: one call per this many bytes instead of one per id. */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolNext = POOL_BYTES;

/**
 * `count` fresh random bytes (at most POOL_BYTES), each handed out once. The view is into a shared pool
 * that is drawn again later: copy what must outlive the caller's synchronous use.
 */
export function randomBytesFromPool(count: number): Buffer {
  if (count > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random bytes at a time, not ${count}`);
  if (poolNext + count > POOL_BYTES) {
    randomFillSync(pool);
    poolNext = 0;
  }
  const start = poolNext;
  poolNext += count;
  return pool.subarray(start, start + count);
}

/** The millisecond and the 32-bit counter of the last time-ordered id (RFC 9562, 6.2 method 1). */
const last = { msecs: -Infinity, seq: 0 };

/**
 * A UUIDv7 that is greater than every one this process made before: a new millisecond starts the
 * counter at a random 31-bit value, a call within the same millisecond adds one, and a counter that
 * wraps moves to the next millisecond. The uuid package does the same when it draws its own random
 * bytes, which costs a system call per id; here they come from the pool.
 */
export function newTimeOrderedId(): string {
  const random = randomBytesFromPool(16);
  const now = Date.now();
  if (now > last.msecs) {
    last.msecs = now;
    last.seq = random.readUInt32BE(6) & 0x7fffffff;
  } else {
    last.seq = (last.seq + 1) | 0;
    if (last.seq === 0) last.msecs++;
  }
  return uuidV7({ random, msecs: last.msecs, seq: last.seq });
}
