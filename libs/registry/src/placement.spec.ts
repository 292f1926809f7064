import { randomUUID } from 'node:crypto';
import { preferredOwner, shouldHandOver, type PlacementCandidate } from './placement';

const replicas = (...loads: number[]): PlacementCandidate[] => loads.map((load, i) => ({ id: `replica-${i}`, capacity: 0, load }));

/** Places `count` sessions one after another, as sequential starts would. */
function placeAll(candidates: PlacementCandidate[], count: number): Map<string, number> {
  for (let i = 0; i < count; i++) {
    const owner = preferredOwner(randomUUID(), candidates)!;
    candidates.find((c) => c.id === owner)!.load++;
  }
  return new Map(candidates.map((c) => [c.id, c.load]));
}

describe('placement', () => {
  it('gives every replica the same answer for a session, from the same list in any order', () => {
    const list = replicas(3, 4, 3);
    for (let i = 0; i < 50; i++) {
      const id = randomUUID();
      expect(preferredOwner(id, [...list].reverse())).toBe(preferredOwner(id, list));
    }
  });

  it('keeps 30 sessions over 3 replicas within fair share + 2, run after run', () => {
    for (let run = 0; run < 200; run++) {
      const loads = [...placeAll(replicas(0, 0, 0), 30).values()];
      expect(Math.max(...loads)).toBeLessThanOrEqual(12);
    }
  });

  it('weighs replicas by capacity and gives a full replica nothing', () => {
    const candidates: PlacementCandidate[] = [
      { id: 'small', capacity: 10, load: 0 },
      { id: 'large', capacity: 30, load: 0 },
    ];
    const loads = placeAll(candidates, 40);
    expect(loads.get('small')).toBe(10);
    expect(loads.get('large')).toBe(30);
    expect(preferredOwner(randomUUID(), candidates)).toBeUndefined();
  });

  it('moves only what a departed replica held', () => {
    const ids = Array.from({ length: 300 }, () => randomUUID());
    const before = ids.map((id) => preferredOwner(id, replicas(0, 0, 0)));
    const after = ids.map((id) => preferredOwner(id, replicas(0, 0)));
    const moved = ids.filter((_, i) => before[i] !== 'replica-2' && before[i] !== after[i]);
    // Load bounds shift a few of the survivors' own sessions too, but only a few.
    expect(moved.length).toBeLessThan(ids.length * 0.1);
  });

  it('hands sessions to a replica that joined until every replica holds its share, and never between equals', () => {
    const candidates = replicas(12, 12, 12, 0);
    let moved = 0;
    for (let i = 0; i < 200 && moved < 50; i++) {
      const holder = candidates[i % 3]!;
      const target = shouldHandOver(randomUUID(), holder.id, candidates);
      if (!target) continue;
      holder.load--;
      candidates.find((c) => c.id === target)!.load++;
      moved++;
    }
    // 36 sessions over 4: a share of 9 each, reached by moving 9 sessions, all to the replica that joined.
    expect(candidates.map((c) => c.load)).toEqual([9, 9, 9, 9]);
    expect(moved).toBe(9);
    expect(shouldHandOver(randomUUID(), 'replica-0', replicas(10, 10, 10))).toBeUndefined();
    expect(shouldHandOver(randomUUID(), 'replica-0', replicas(11, 10, 10))).toBeUndefined();
  });
});
