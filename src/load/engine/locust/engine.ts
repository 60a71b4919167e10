import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedScenario } from '../../../config/load-scenario.js';
import { registerCleanup } from '../../../process/cleanups.js';
import type { GeneratorLoad } from '../../../model/load-result.js';
import { round } from '../../../report/round.js';
import type { LiveFigures, LoadEnd, LoadEngine, LoadRequests, StageMeasurement } from '../load-engine.js';
import { LocustCluster, type PeriodCommand } from './cluster.js';
import { findLocust, type LocustInstall } from './install.js';
import { renderLocustfile } from './locustfile.js';
import { liveFigures, periodRecording, type PeriodReport } from './period-report.js';

/**
 * The Locust engine: the scenario runs on a Locust master and its workers
 * (local processes, and remote ones with --expect-workers), measured by
 * dbtune's locustfile (engines/locust/locustfile.py). Each period of load the
 * runner asks for (warm-up, ramp, measured stage) is one period on the
 * master: the users it reaches, then "go", then "pause" after the period's
 * time; the workers' in-flight requests finish and count, so nothing is lost
 * and nothing is sent between periods.
 */

export interface LocustEngineOptions {
  scenario: Pick<LoadedScenario, 'requests' | 'rows'>;
  target: URL;
  timeoutMs: number;
  insecure: boolean;
  /** `--locust PATH`, else `locust` on the PATH. */
  locustPath?: string;
  env: NodeJS.ProcessEnv;
  /** Worker processes started here. */
  localWorkers: number;
  /** Remote workers to wait for as well (--expect-workers). */
  remoteWorkers: number;
  /** --master-bind HOST:PORT; default 127.0.0.1 and a free port. */
  bind?: { host: string; port: number };
  /** How long to wait for the workers, ms (default 30 s; 120 s with remote workers). */
  workersTimeoutMs?: number;
}

export interface LocustEngine extends LoadEngine {
  /** Stops the master and the workers, removes the locustfile. */
  close(): Promise<void>;
}

export function locustEngine(options: LocustEngineOptions): LocustEngine {
  let install: LocustInstall | undefined;
  let cluster: LocustCluster | undefined;
  let starting: Promise<LocustCluster> | undefined;
  let dir: string | undefined;
  let unregisterDir: (() => void) | undefined;
  let periods = 0;

  const start = async (): Promise<LocustCluster> => {
    const locust = install ?? (install = findLocust(options.locustPath, options.env));
    dir = mkdtempSync(join(tmpdir(), 'dbtune-locust-'));
    const removeDir = dir;
    unregisterDir = registerCleanup({ what: () => `the generated locustfile (${removeDir})`, run: () => rmSync(removeDir, { recursive: true, force: true }) });
    const locustfile = join(dir, 'dbtune_locustfile.py');
    // It holds the scenario's header values, ${…} ones included: readable by this user only.
    writeFileSync(locustfile, renderLocustfile(options.scenario, { target: options.target, timeoutMs: options.timeoutMs, insecure: options.insecure, ...(locust.emptyVersionIs ? { emptyVersionIs: locust.emptyVersionIs } : {}) }), { mode: 0o600 });
    const bind = options.bind ?? { host: '127.0.0.1', port: await freePort() };
    cluster = await LocustCluster.start({
      locust,
      locustfile,
      localWorkers: options.localWorkers,
      expectWorkers: options.localWorkers + options.remoteWorkers,
      workersTimeoutMs: options.workersTimeoutMs ?? (options.remoteWorkers ? 120_000 : 30_000),
      bindHost: bind.host,
      bindPort: bind.port,
      stopTimeoutS: Math.ceil(options.timeoutMs / 1000) + 1,
      cwd: dir,
    });
    return cluster;
  };
  const started = () => (starting ??= start());

  /** Runs one period; Ctrl-C ends it early (what was recorded still counts). */
  const run = async (requests: LoadRequests, command: Omit<PeriodCommand, 'period'>, onProgress?: (live: LiveFigures) => void): Promise<{ report: PeriodReport; interrupted: boolean; cpu: number[] }> => {
    const c = await started();
    const { signal } = requests;
    const onAbort = () => c.endPeriod();
    const pids = c.workerPids;
    const before = pids.map(cpuSeconds);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const report = await c.period({ period: ++periods, ...command }, onProgress ? (live) => onProgress(liveFigures(live)) : undefined);
      const cpu = pids.map((pid, i) => cpuSeconds(pid) - before[i]!);
      return { report, interrupted: signal?.aborted ?? false, cpu };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  return {
    name: 'locust',
    preflight() {
      install ??= findLocust(options.locustPath, options.env);
    },
    async prepare() {
      await started();
    },
    async unmeasured(requests, load): Promise<LoadEnd> {
      if (requests.signal?.aborted) return { interrupted: true };
      const ramp = load.users !== load.fromUsers && load.durationMs > 0;
      const command = { users: load.users, duration_ms: load.durationMs, stage: null, ...(ramp ? { spawn_rate: Math.max(0.1, Math.abs(load.users - load.fromUsers) / (load.durationMs / 1000)) } : {}) };
      const { interrupted } = await run(requests, command);
      return { interrupted };
    },
    async measure(requests, stage): Promise<StageMeasurement> {
      const { report, interrupted, cpu } = await run(requests, { users: stage.users, duration_ms: stage.durationMs, stage: stage.seed }, stage.onProgress);
      const measurement: StageMeasurement = {
        recording: periodRecording(report, requests.requestNames),
        interrupted,
        inFlightAtStop: report.in_flight ?? 0,
        generator: { ...generatorLoad(cpu, report.seconds), reconnect_waits: report.reconnect_waits ?? 0 },
      };
      if (report.lost_workers > 0) {
        measurement.workersLost = { workers: report.lost_workers, users: report.lost_users };
        measurement.endedEarly = `${report.lost_workers} of ${report.workers} Locust workers stopped reporting during the stage, with ${report.lost_users} of its ${stage.users} users`;
      }
      return measurement;
    },
    async close() {
      await cluster?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      unregisterDir?.();
    },
  };
}

/**
 * The local workers' CPU during the stage. A Locust worker is one Python
 * thread: its CPU share is how busy its loop was, and near one core it cannot
 * send faster (remote workers are not seen here).
 */
function generatorLoad(cpuSecondsPerWorker: number[], seconds: number): GeneratorLoad {
  const shares = cpuSecondsPerWorker.map((s) => (seconds > 0 ? s / seconds : 0));
  const busiest = shares.length ? Math.max(...shares) : 0;
  return {
    cpu_cores: round(shares.reduce((a, b) => a + b, 0), 2),
    event_loop_utilization: round(Math.min(1, busiest), 2),
    event_loop_p99_ms: 0,
    saturated: busiest >= 0.9,
  };
}

/** User plus system CPU of a process so far, s (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
