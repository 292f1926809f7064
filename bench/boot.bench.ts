/**
 * Boot cost of wafleet: time from spawn to the first 200 on /health/ready, VmRSS at that moment and the
 * peak RSS (VmHWM) just before stopping, for
 *   embeddedFresh  - embedded PGlite, empty DATA_DIR (database init + migrations),
 *   embeddedReopen - embedded PGlite, the same DATA_DIR after a clean stop,
 *   postgres       - PostgreSQL, a fresh database (migrations),
 * each beside a baseline measured in the same run: a bare `node -e` HTTP server answering 200.
 * Scenarios are interleaved run by run so machine noise spreads evenly; figures are medians of
 * BENCH_RUNS runs (default 3). Run: `npm run bench:boot`.
 */
import { rmSync } from 'node:fs';
import {
  assertPostgresReachable,
  createTempDatabase,
  envInt,
  log,
  machine,
  median,
  ratio,
  readMemory,
  round,
  Running,
  runMain,
  startBareNode,
  startWafleet,
  tempDir,
} from './support';

const RUNS = envInt('BENCH_RUNS', 3, 1, 20);

interface Sample {
  readyMs: number;
  rssMB: number;
  peakRssMB: number;
}

/** Boots one server, takes its figures, stops it cleanly (the reopen run depends on a clean stop). */
async function measure(label: string, start: () => Promise<Running>): Promise<Sample> {
  const server = await start();
  const peakRssMB = readMemory(server.proc.pid).peakMB;
  await server.proc.stop();
  log(`${label}: ready in ${server.readyMs} ms, rss ${server.rssMB} MB, peak ${peakRssMB} MB`);
  return { readyMs: server.readyMs, rssMB: server.rssMB, peakRssMB };
}

const series = (samples: Sample[], key: keyof Sample) => ({ median: round(median(samples.map((s) => s[key]))), runs: samples.map((s) => s[key]) });

function scenario(samples: Sample[], baseline: Sample[]) {
  const readyMs = series(samples, 'readyMs');
  const rssMB = series(samples, 'rssMB');
  const peakRssMB = series(samples, 'peakRssMB');
  const base = { ready: median(baseline.map((s) => s.readyMs)), rss: median(baseline.map((s) => s.rssMB)), peak: median(baseline.map((s) => s.peakRssMB)) };
  return {
    readyMs,
    rssMB,
    peakRssMB,
    readyVsBaseline: ratio(readyMs.median, base.ready),
    rssVsBaseline: ratio(rssMB.median, base.rss),
    peakRssVsBaseline: ratio(peakRssMB.median, base.peak),
  };
}

async function main() {
  await assertPostgresReachable();
  const results: Record<'baseline' | 'embeddedFresh' | 'embeddedReopen' | 'postgres', Sample[]> = {
    baseline: [],
    embeddedFresh: [],
    embeddedReopen: [],
    postgres: [],
  };
  for (let run = 1; run <= RUNS; run++) {
    log(`run ${run}/${RUNS}`);
    results.baseline.push(await measure('baseline', startBareNode));

    const dataDir = tempDir('wafleet-bench-boot-');
    results.embeddedFresh.push(await measure('embeddedFresh', () => startWafleet({ dataDir })));
    results.embeddedReopen.push(await measure('embeddedReopen', () => startWafleet({ dataDir })));
    rmSync(dataDir, { recursive: true, force: true }); // up to ~0.8 GB per run; the cleanup would do it only at the end

    const database = await createTempDatabase();
    const pgDataDir = tempDir('wafleet-bench-boot-pg-'); // unused by the server with DATABASE_URL, kept out of the repo
    results.postgres.push(await measure('postgres', () => startWafleet({ dataDir: pgDataDir, databaseUrl: database.url })));
    await database.drop();
  }

  return {
    bench: 'boot',
    description: 'spawn -> first 200 on /health/ready; RSS at that moment; peak RSS (VmHWM) before stop. Medians; ratios are vs the bare node baseline.',
    runs: RUNS,
    embeddedFresh: scenario(results.embeddedFresh, results.baseline),
    embeddedReopen: scenario(results.embeddedReopen, results.baseline),
    postgres: scenario(results.postgres, results.baseline),
    baseline: {
      what: 'bare `node -e` http server answering 200',
      readyMs: series(results.baseline, 'readyMs'),
      rssMB: series(results.baseline, 'rssMB'),
      peakRssMB: series(results.baseline, 'peakRssMB'),
    },
    embeddedVsPostgres: {
      freshReady: ratio(median(results.embeddedFresh.map((s) => s.readyMs)), median(results.postgres.map((s) => s.readyMs))),
      reopenReady: ratio(median(results.embeddedReopen.map((s) => s.readyMs)), median(results.postgres.map((s) => s.readyMs))),
      reopenRss: ratio(median(results.embeddedReopen.map((s) => s.rssMB)), median(results.postgres.map((s) => s.rssMB))),
      freshPeakRss: ratio(median(results.embeddedFresh.map((s) => s.peakRssMB)), median(results.postgres.map((s) => s.peakRssMB))),
    },
    machine: machine(),
  };
}

runMain(main);
