import type { GeneratorLoad, RequestStats, TimelinePoint } from '../../model/load-result.js';
import type { MixEntry } from '../request-mix.js';

/**
 * The seam between the scenario runner and whatever sends the load. The
 * runner plans the stages (warm-up, ramps, measured stages), asks the engine
 * for each, and judges what comes back; thresholds, the database watch and
 * the reports never know which engine ran.
 *
 * An engine either records every response itself (the in-process autocannon
 * engine feeds a StageRecorder per response) or hands back what it recorded
 * elsewhere (an out-of-process engine, e.g. load workers that report one
 * histogram per stage, implements {@link StageRecording} over those). A
 * measured stage is one `measure` call, so its boundaries are the runner's,
 * whichever engine sends the requests.
 */
export interface LoadEngine {
  /** Shown in messages, e.g. `autocannon`. */
  readonly name: string;
  /**
   * Checked once, before any load is sent: throws a DbtuneError naming what
   * the engine cannot do here (a missing dependency, a changed internal).
   */
  preflight(): void;
  /**
   * Starts what the engine runs on (processes, connections) before the first
   * period, so that a failure to start is an error before any stage begins.
   * Optional: an in-process engine has nothing to start.
   */
  prepare?(): Promise<void>;
  /**
   * Load that is not measured: the warm-up (`fromUsers` = `users`) or the
   * ramp from the previous stage's users to the next stage's over
   * `durationMs` (the engine steps or spawns users gradually).
   */
  unmeasured(requests: LoadRequests, load: UnmeasuredLoad): Promise<LoadEnd>;
  /** One measured stage at a fixed number of users. */
  measure(requests: LoadRequests, stage: MeasuredStage): Promise<StageMeasurement>;
}

/** What every user sends and how each outcome is judged: the same for every stage of a run. */
export interface LoadRequests {
  /** Base URL: scheme, host, port and an optional path prefix. */
  target: URL;
  /** One per scenario request, in scenario order. */
  entries: MixEntry[];
  requestNames: readonly string[];
  /** The scenario's weights, per request: each user picks every request with these odds. */
  weights: readonly number[];
  /** Per request, the statuses besides 2xx that count as success. */
  expectedStatuses: ReadonlyArray<ReadonlySet<number>>;
  /** Per-request timeout, ms: a request unanswered this long counts as a `timeout` failure at this latency. */
  timeoutMs: number;
  /** Accept any TLS certificate (`--insecure`); else every load connection verifies it. */
  insecure: boolean;
  /** Aborted on Ctrl-C: the engine stops at once and reports `interrupted`. */
  signal?: AbortSignal;
}

export interface UnmeasuredLoad {
  fromUsers: number;
  users: number;
  durationMs: number;
}

export interface MeasuredStage {
  users: number;
  durationMs: number;
  /** Seeds the users' picks: the same seed sends the same sequence per user. */
  seed: number;
  /** Called about every 250 ms with live figures. */
  onProgress?: (live: LiveFigures) => void;
}

/** How a period of load ended. */
export interface LoadEnd {
  interrupted: boolean;
  /** Set when a load connection's TLS certificate was not trusted: the load stopped at once. */
  untrustedCertificate?: string;
}

export interface StageMeasurement extends LoadEnd {
  recording: StageRecording;
  /**
   * Requests sent but unanswered when the stage ended: not in the results, yet
   * the target (and its database) still serves them.
   */
  inFlightAtStop: number;
  /** Why the stage ended before its time, when it did. */
  endedEarly?: string;
  /** Load workers (of an out-of-process engine) that stopped reporting during the stage: the stage fails. */
  workersLost?: { workers: number; users: number };
  generator: GeneratorLoad;
}

/** What a measured stage recorded: read once, then destroyed. */
export interface StageRecording {
  results(): StageFigures;
  /** Frees what the recording holds (histograms). */
  destroy(): void;
}

export interface StageFigures {
  total: RequestStats;
  byRequest: Array<{ name: string } & RequestStats>;
  timeline: TimelinePoint[];
  /** The measured window, s (to the end of sending). */
  seconds: number;
}

/** Live figures of the running stage, for progress lines. */
export interface LiveFigures {
  elapsedMs: number;
  requests: number;
  failures: number;
  p95: number;
  msSinceResponse: number;
}
