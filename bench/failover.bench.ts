/**
 * Failover time on a local cluster (wa-sim, 3 replicas, nginx): the time from a signal to a replica that
 * owns sessions until every one of them is `working` again on a survivor, for SIGKILL (a crash: the
 * leases must lapse) and SIGTERM (a drain: the leases are released). The victim is restarted after each
 * trial. Each figure is printed beside LEASE_TTL_MS and its goal: p99 ≤ TTL + 2 s for SIGKILL, ≤ 2 s for
 * SIGTERM, and no conflict on the wire (two replicas connected to one account at once).
 *
 * Env: FAILOVER_TRIALS (per signal, default 10), FAILOVER_SESSIONS (default 6), LEASE_TTL_MS (default
 * 3000), BENCH_DATABASE_URL (where the throwaway database is made). Needs nginx, PostgreSQL and Redis.
 */
import { resolve } from 'node:path';
import { ClusterSessions } from '../tools/cluster/cluster-sessions';
import { LocalCluster } from '../tools/cluster/local-cluster';
import { envInt, log, machine, onCleanup, ratio, round, runMain, summarize } from './support';

type Trial = 'SIGKILL' | 'SIGTERM';

interface Outcome {
  /** ms from the signal until every moved session was working on a survivor; undefined when it never was. */
  ms?: number;
  moved: number;
  conflicts: number;
  registrations: number;
}

const TAKEOVER_TIMEOUT_EXTRA_MS = 15_000;

async function trial(cluster: LocalCluster, fleet: ClusterSessions, signal: Trial, leaseTtlMs: number): Promise<Outcome> {
  const { index, sessions } = await fleet.busiestReplica();
  const victim = cluster.replica(index);
  const before = await fleet.simStats();
  const signalledAt = Date.now();
  victim.signal(signal);
  let ms: number | undefined;
  try {
    ms = (await fleet.waitForTakeover(sessions, victim.instanceId, before.logins, leaseTtlMs + TAKEOVER_TIMEOUT_EXTRA_MS)) - signalledAt;
  } catch (error) {
    log(`${signal} of ${victim.instanceId}: ${(error as Error).message}`);
  }
  const after = await fleet.simStats();
  await cluster.restartReplica(index);
  return { ms, moved: sessions.length, conflicts: after.conflicts - before.conflicts, registrations: after.registrations - before.registrations };
}

function report(outcomes: Outcome[], leaseTtlMs: number, goalP99Ms: number) {
  const times = outcomes.flatMap((outcome) => (outcome.ms === undefined ? [] : [outcome.ms]));
  const ms = summarize(times);
  const conflicts = outcomes.reduce((sum, outcome) => sum + outcome.conflicts, 0);
  return {
    ms,
    leaseTtlMs,
    p50OverTtl: ratio(ms.p50, leaseTtlMs),
    p99OverTtl: ratio(ms.p99, leaseTtlMs),
    goalP99Ms: goalP99Ms,
    p99MetGoal: times.length === outcomes.length && ms.p99 <= goalP99Ms,
    timedOut: outcomes.length - times.length,
    sessionsMoved: summarize(outcomes.map((outcome) => outcome.moved)),
    conflicts,
    conflictsGoal: 0,
    newRegistrations: outcomes.reduce((sum, outcome) => sum + outcome.registrations, 0),
  };
}

async function main() {
  const trials = envInt('FAILOVER_TRIALS', 10, 1, 1000);
  const sessionCount = envInt('FAILOVER_SESSIONS', 6, 1, 200);
  const leaseTtlMs = envInt('LEASE_TTL_MS', 3000, 1000, 600_000);
  log(`starting a cluster of 3 replicas, LEASE_TTL_MS=${leaseTtlMs}`);
  const cluster = await LocalCluster.start({
    replicas: 3,
    root: resolve(__dirname, '..', '..'),
    postgresAdminUrl: process.env.BENCH_DATABASE_URL || undefined,
    nginxReadTimeoutSeconds: 3,
    env: { LEASE_TTL_MS: String(leaseTtlMs) },
  });
  onCleanup(() => cluster.stop());
  const fleet = await ClusterSessions.open(cluster, 'failover-bench');
  onCleanup(() => fleet.close());
  const names = Array.from({ length: sessionCount }, (_, i) => `bench-${i}`);
  await fleet.createPaired(names, '55119900', 120_000);
  log(`${sessionCount} sessions paired through nginx`);

  const outcomes: Record<Trial, Outcome[]> = { SIGKILL: [], SIGTERM: [] };
  const allWorking = async () => (await fleet.statuses()).every(({ status }) => status === 'working');
  for (let i = 0; i < trials; i++) {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      await fleet.until(allWorking, leaseTtlMs + TAKEOVER_TIMEOUT_EXTRA_MS, 'every session working before the next trial');
      const outcome = await trial(cluster, fleet, signal, leaseTtlMs);
      outcomes[signal].push(outcome);
      log(`trial ${i + 1}/${trials} ${signal}: ${outcome.moved} sessions in ${outcome.ms === undefined ? 'never' : `${round(outcome.ms)} ms`}, ${outcome.conflicts} conflicts`);
    }
  }

  return {
    bench: 'failover',
    machine: machine(),
    config: { replicas: 3, sessions: sessionCount, trialsPerSignal: trials, leaseTtlMs },
    sigkill: report(outcomes.SIGKILL, leaseTtlMs, leaseTtlMs + 2000),
    sigterm: report(outcomes.SIGTERM, leaseTtlMs, 2000),
  };
}

runMain(main);
