import autocannon from 'autocannon';
import { monitorEventLoopDelay, performance as nodePerformance } from 'node:perf_hooks';
import { completeCloseDelimited, connectVerified, pickWith, resetParser, type AutocannonClient } from './client.js';
import { generatorSaturated, waitBeforeReconnect } from '../../generator-health.js';
import { WeightedPicker, userSeed } from '../../mix-picker.js';
import type { MixEntry } from '../../request-mix.js';
import type { GeneratorLoad } from '../../../model/load-result.js';
import { StageRecorder } from '../../stage-recorder.js';
import { round } from '../../../report/round.js';
import type { LiveFigures, LoadEngine, LoadEnd, LoadRequests, StageMeasurement } from '../load-engine.js';
import { rampSteps } from '../ramp-steps.js';
import { checkAutocannonInternals } from './internals.js';

/**
 * The in-process load engine, and the only module that imports autocannon:
 * each period of load (a stage, the warm-up, one ramp step) is one autocannon
 * run at a fixed number of connections, measured by dbtune.
 *
 * autocannon drives the sockets; dbtune listens on each client for every
 * response, timeout and connection error and records them itself
 * (StageRecorder). Four of autocannon's client behaviours are corrected here,
 * through `setupClient` and internals that are not autocannon's API (checked
 * before each run by internals.ts):
 * - when a connection drops with a request in flight, autocannon reconnects
 *   and neither counts the request nor clears it from its queue, so the next
 *   response on that client would be timed from the lost request's start.
 *   dbtune counts it (`connection_closed`) and clears the queue;
 * - after a connection error it reconnects at once, which against a dead
 *   target is a busy loop that starves the process: dbtune waits 100 ms
 *   when the target refused or is unreachable (not after a reset from a
 *   live server, which would silently lower the load), and counts the waits;
 * - it never tells its parser that a connection ended, so a response
 *   delimited by the server's close never completes, and it keeps one parser
 *   for all of a client's connections, so a body cut short (by a timeout)
 *   corrupts the next response: dbtune completes the one and resets the
 *   parser on every new connection (client.ts);
 * - it opens TLS connections with `rejectUnauthorized: false`: dbtune
 *   verifies every load connection's certificate before sending on it, and
 *   an untrusted one stops the stage (unless --insecure).
 * Users are closed-loop (each sends its next request when the previous one
 * ends), so no coordinated-omission correction applies; autocannon's own
 * histogram, which has the wrong one for rate-limited runs, is not read.
 */

/** One period of load at a fixed number of users. */
interface PeriodOptions extends LoadRequests {
  users: number;
  durationMs: number;
  /** Seeds the users' picks (default 0). */
  seed?: number;
  onProgress?: (live: LiveFigures) => void;
  /** Stop early when the target has refused or dropped every connection for this long (default 5 s). */
  deadTargetMs?: number;
}

interface PeriodMeasurement extends StageMeasurement {
  recording: StageRecorder;
}

/** The in-process engine: autocannon's clients, corrected and measured per response by dbtune. */
export const autocannonEngine: LoadEngine = {
  name: 'autocannon',
  preflight: checkAutocannonInternals,
  async unmeasured(requests, load) {
    const steps = rampSteps(load.fromUsers, load.users);
    // Few users to climb (0 → 2) give fewer steps: each gets a larger share, the ramp keeps its length.
    for (const users of steps.length ? steps : [load.users]) {
      const period = await runPeriod({ ...requests, users, durationMs: load.durationMs / Math.max(1, steps.length) });
      period.recording.destroy();
      const end: LoadEnd = { interrupted: period.interrupted, ...(period.untrustedCertificate === undefined ? {} : { untrustedCertificate: period.untrustedCertificate }) };
      if (end.interrupted || end.untrustedCertificate !== undefined) return end;
    }
    return { interrupted: false };
  },
  measure: (requests, stage) => runPeriod({ ...requests, ...stage }),
};

const RECONNECT_DELAY_MS = 100;
const LOOP_RESOLUTION_MS = 10;

async function runPeriod(options: PeriodOptions): Promise<PeriodMeasurement> {
  const { target, entries, users, timeoutMs } = options;
  const recorder = new StageRecorder(options.requestNames);
  const prefix = target.pathname.replace(/\/+$/, '');
  const requests = prefix ? entries.map((e) => withPrefix(e, prefix)) : entries;
  let lastConnectionFailure = 0;
  let inFlightAtStop = 0;
  let reconnectWaits = 0;
  let untrustedCertificate: string | undefined;
  let stopNow: () => void = () => {};
  const secure = target.protocol === 'https:';
  const onUntrusted = (reason: string) => {
    untrustedCertificate ??= reason;
    stopNow();
  };
  const clients: AutocannonClient[] = [];
  // After the stage's time is up, no new request is sent, and those in flight are awaited (up to
  // the timeout): dropping them would leave out exactly the slowest requests of the stage.
  let draining = false;
  let onDrained: () => void = () => {};
  const retire = (client: AutocannonClient) => {
    // autocannon calls _doRequest right after a response: make that a no-op, or it would write
    // to the closed socket and re-arm the client's timeout timer (a phantom timeout later).
    client._doRequest = () => {};
    client.destroy();
    if (clients.every((c) => c.destroyed)) onDrained();
  };

  const setupClient = (client: AutocannonClient) => {
    pickWith(client, new WeightedPicker(options.weights, userSeed(options.seed ?? 0, clients.length)));
    clients.push(client);
    let afterConnError = false;
    let waitFirst = false;
    let serverClosing = false;
    let lastRequestIndex = 0;
    let pendingReconnect: NodeJS.Timeout | undefined;
    const connect = client._connect;
    client._connect = function reconnect(this: AutocannonClient) {
      if (pendingReconnect) clearTimeout(pendingReconnect);
      pendingReconnect = undefined;
      const current = this.requestIterator.currentRequest;
      if (current) lastRequestIndex = current.requestIndex;
      if (this.pipelinedRequests.size() > 0 && !afterConnError && completeCloseDelimited(this)) {
        // The close ended a response (recorded by the 'response' listener), it did not lose one.
      } else if (this.pipelinedRequests.size() > 0) {
        // A request was in flight on the connection that just ended.
        if (!afterConnError && !serverClosing) {
          recorder.failure(lastRequestIndex, 'connection_closed');
          lastConnectionFailure = performance.now();
        }
        this.pipelinedRequests.clear();
      }
      resetParser(this);
      serverClosing = false;
      if (draining) {
        // After this returns autocannon may still emit 'timeout' for the lost request: retire the
        // client once that is recorded, or the run would close before it.
        setImmediate(() => retire(this));
        return;
      }
      const wait = afterConnError && waitFirst;
      afterConnError = false;
      if (wait) {
        reconnectWaits++;
        pendingReconnect = setTimeout(() => {
          pendingReconnect = undefined;
          if (!this.destroyed) open(this);
        }, RECONNECT_DELAY_MS);
        return;
      }
      open(this);
    };
    const open = (c: AutocannonClient) => (secure ? connectVerified(c, connect, options.insecure ?? false, onUntrusted) : connect.call(c));
    client.on('headers', (info) => {
      serverClosing = info.shouldKeepAlive === false;
    });
    client.on('response', (status, bytes, durationMs) => {
      const index = client.requestIterator.currentRequest.requestIndex;
      const success = (status >= 200 && status < 300) || options.expectedStatuses[index]!.has(status);
      recorder.response(index, status, bytes, durationMs, success);
      // autocannon sends the next request right after this event; a retired client's write goes nowhere.
      if (draining) retire(client);
    });
    // autocannon reconnects (our wrapper above, which retires the client when draining) before it
    // emits 'timeout': the timed-out request still counts. A retired client has no timer left.
    client.on('timeout', () => {
      recorder.failure(lastRequestIndex, 'timeout', timeoutMs);
      if (draining) retire(client);
    });
    client.on('connError', (error) => {
      afterConnError = true;
      waitFirst = waitBeforeReconnect(error.code);
      lastConnectionFailure = performance.now();
      recorder.failure(client.requestIterator.currentRequest.requestIndex, connectionErrorKind(error));
      if (draining) retire(client);
    });
  };

  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const eluBefore = nodePerformance.eventLoopUtilization();
  const startedAt = performance.now();

  let interrupted = false;
  let endedEarly: string | undefined;
  const deadTargetMs = options.deadTargetMs ?? 5000;
  await new Promise<void>((resolve, reject) => {
    let stopped = false;
    let instance: autocannon.Instance | undefined;
    let timer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let progress: NodeJS.Timeout | undefined;
    /** Ends the run now: whatever is still in flight is not counted. */
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(progress);
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      recorder.close();
      inFlightAtStop = clients.filter((c) => !c.destroyed && c.pipelinedRequests.size() > 0).length;
      for (const client of clients) client.destroy();
      instance?.stop();
    };
    /** The stage's time is up: send nothing more, let what is in flight finish (bounded by the timeout). */
    const drain = () => {
      if (draining || stopped) return;
      draining = true;
      recorder.stopSending();
      onDrained = stop;
      drainTimer = setTimeout(stop, timeoutMs + 1000);
      for (const client of clients) if (!client.destroyed && client.pipelinedRequests.size() === 0) retire(client);
      if (clients.every((c) => c.destroyed)) stop();
    };
    const onAbort = () => {
      interrupted = true;
      stop();
    };
    stopNow = () => {
      endedEarly = `a load connection's TLS certificate was not trusted (${untrustedCertificate})`;
      stop();
    };
    instance = autocannon(
      {
        url: target.origin,
        connections: users,
        // dbtune ends the run itself (below, after draining for up to the timeout); this only bounds it if that failed.
        duration: Math.ceil((options.durationMs + timeoutMs) / 1000) + 30,
        timeout: timeoutMs / 1000,
        // How often autocannon checks for stop(): end within 100 ms of dbtune's timer.
        sampleInt: 100,
        skipAggregateResult: true,
        requests: requests as unknown as autocannon.Request[],
        setupClient: setupClient as unknown as autocannon.Options['setupClient'],
      } as autocannon.Options,
      (error: Error | null) => {
        stop();
        if (error) reject(error);
        else resolve();
      },
    );
    if (stopped) return;
    timer = setTimeout(drain, options.durationMs);
    progress = setInterval(() => {
      const live = recorder.snapshot();
      options.onProgress?.(live);
      const sinceFailure = performance.now() - lastConnectionFailure;
      if (live.msSinceResponse >= deadTargetMs && sinceFailure < 1000) {
        endedEarly = `the target refused or dropped every connection for ${Math.round(deadTargetMs / 1000)} s`;
        stop();
      }
    }, 250);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });

  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  const cpuCores = (cpu.user + cpu.system) / 1000 / wallMs;
  // The generator is the main thread's event loop: how busy it was, and how late it ran timers.
  // (Process CPU also counts other threads, e.g. the demo's API worker.)
  const utilization = nodePerformance.eventLoopUtilization(eluBefore).utilization;
  const loopP99 = loop.percentile(99) / 1e6;
  const generator: GeneratorLoad = {
    cpu_cores: round(cpuCores, 2),
    event_loop_utilization: round(utilization, 2),
    event_loop_p99_ms: round(loopP99, 1),
    timers_late_p99_ms: round(Math.max(0, loopP99 - LOOP_RESOLUTION_MS), 1),
    saturated: generatorSaturated({ utilization, loopDelayP99Ms: loopP99, resolutionMs: LOOP_RESOLUTION_MS, stageP50Ms: recorder.medianMs() }),
    reconnect_waits: reconnectWaits,
  };
  return { recording: recorder, interrupted, inFlightAtStop, ...(endedEarly ? { endedEarly } : {}), ...(untrustedCertificate ? { untrustedCertificate } : {}), generator };
}

function withPrefix(entry: MixEntry, prefix: string): MixEntry {
  const copy: MixEntry = { ...entry, path: prefix + entry.path };
  const setup = entry.setupRequest;
  if (setup) {
    copy.setupRequest = (request, context) => {
      const built = setup(request, context);
      built.path = prefix + built.path;
      return built;
    };
  }
  return copy;
}

export function connectionErrorKind(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    default:
      if (error.code?.startsWith('ERR_SSL') || error.code?.includes('CERT') || /ssl|tls/i.test(error.message)) return 'tls';
      return 'connection_error';
  }
}
