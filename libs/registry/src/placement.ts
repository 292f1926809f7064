import { createHash } from 'node:crypto';

/** A live replica as placement sees it. */
export interface PlacementCandidate {
  id: string;
  /** MAX_SESSIONS of that replica; 0 means no limit. */
  capacity: number;
  /** Sessions it holds a live lease on now. */
  load: number;
}

/** How much an unlimited replica weighs beside limited ones: as if it could take this many sessions. */
const UNLIMITED_WEIGHT = 1_000;

const weightOf = (candidate: PlacementCandidate) => (candidate.capacity > 0 ? candidate.capacity : UNLIMITED_WEIGHT);

/** A uniform number in (0, 1) from the pair: the same on every replica, independent across pairs. */
function unitHash(sessionId: string, instanceId: string): number {
  const digest = createHash('sha256').update(sessionId).update('\0').update(instanceId).digest();
  // 52 bits, shifted off 0 so the logarithm below stays finite.
  return (Number(digest.readBigUInt64BE(0) >> 12n) + 0.5) / 2 ** 52;
}

/**
 * Weighted rendezvous hashing: each replica scores the session, the highest wins. Every replica computes
 * the same answer from the same list, a replica that leaves moves only its own sessions, and a replica
 * with twice the capacity wins about twice as often.
 */
export function rendezvousScore(sessionId: string, candidate: PlacementCandidate): number {
  return -weightOf(candidate) / Math.log(unitHash(sessionId, candidate.id));
}

/**
 * The replica a session should run on: the best-scoring one that is below its capacity and would not go
 * past its fair share (its weight's part of all the sessions, this one included, rounded up). Bounding
 * the load keeps replicas even where plain hashing drifts by a few sessions, and it is the same bound
 * that decides handovers ({@link shouldHandOver}), so a session handed over is not claimed back.
 * @returns undefined when every candidate is full
 */
export function preferredOwner(sessionId: string, candidates: PlacementCandidate[]): string | undefined {
  const open = candidates.filter((c) => c.capacity === 0 || c.load < c.capacity);
  if (open.length === 0) return undefined;
  const total = candidates.reduce((sum, c) => sum + c.load, 0) + 1;
  const weights = candidates.reduce((sum, c) => sum + weightOf(c), 0);
  const bound = (c: PlacementCandidate) => Math.ceil((total * weightOf(c)) / weights);
  const ranked = open.map((c) => ({ c, score: rendezvousScore(sessionId, c) })).sort((a, b) => b.score - a.score);
  return (ranked.find(({ c }) => c.load < bound(c)) ?? ranked[0]!).c.id;
}

/**
 * Whether `holder` should hand `sessionId` over, and to whom: the holder is above its fair share (its
 * weight's part of all the sessions, rounded up), and the best-scoring other replica still below its own
 * share takes it. Replicas at their share keep what they have, so sessions never move between equals.
 */
export function shouldHandOver(sessionId: string, holder: string, candidates: PlacementCandidate[]): string | undefined {
  const self = candidates.find((c) => c.id === holder);
  if (!self || candidates.length < 2) return undefined;
  const total = candidates.reduce((sum, c) => sum + c.load, 0);
  const weights = candidates.reduce((sum, c) => sum + weightOf(c), 0);
  const share = (c: PlacementCandidate) => Math.ceil((total * weightOf(c)) / weights);
  if (self.load <= share(self)) return undefined;
  const takers = candidates.filter((c) => c.id !== holder && c.load + 1 <= share(c) && (c.capacity === 0 || c.load < c.capacity));
  return takers.map((c) => ({ c, score: rendezvousScore(sessionId, c) })).sort((a, b) => b.score - a.score)[0]?.c.id;
}
