/**
 * Two judgements about dbtune's own side of a load test, as pure functions:
 * when a user should pause before reconnecting, and when the load generator
 * was too busy for its figures to describe the target.
 */

/**
 * Errors that mean no connection could be made: the target refused it, or
 * there is no route, name or answer. Reconnecting at once after these is a
 * busy loop that starves the process, so a user waits first. A reset or a
 * broken pipe comes from a live server that accepted the connection: the
 * user reconnects at once, or the load silently drops below the users asked for.
 */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when a user should wait before reconnecting after this connection error. */
export function waitBeforeReconnect(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE.has(code);
}

export interface GeneratorFigures {
  /** Share of the stage the event loop was busy (0..1). */
  utilization: number;
  /** p99 of monitorEventLoopDelay, ms: it includes the sampling interval itself. */
  loopDelayP99Ms: number;
  /** The monitor's sampling interval, ms. */
  resolutionMs: number;
  /** The stage's median latency, ms (0 when nothing was answered). */
  stageP50Ms: number;
}

/** Near-full event loop: it cannot send faster. */
const BUSY_UTILIZATION = 0.9;
/** Timers late by this share of the median latency make the latencies partly dbtune's. */
const LATE_SHARE_OF_P50 = 0.5;
/** Below this lateness, scheduling noise: never a warning. */
const LATE_FLOOR_MS = 10;
/** Above it, always a warning, whatever the latencies (the earlier absolute limit). */
const LATE_CEILING_MS = 190;

/**
 * Whether the stage's figures may describe dbtune rather than the target:
 * the event loop was nearly always busy, or its timers ran late (p99, beyond
 * the sampling interval) by a good part of the latencies being measured —
 * half the stage's median, at least 10 ms and at most 190 ms. A 20 ms delay
 * is noise next to 800 ms responses but doubles 5 ms ones.
 */
export function generatorSaturated(figures: GeneratorFigures): boolean {
  const lateMs = Math.max(0, figures.loopDelayP99Ms - figures.resolutionMs);
  const limit = Math.min(LATE_CEILING_MS, Math.max(LATE_FLOOR_MS, LATE_SHARE_OF_P50 * figures.stageP50Ms));
  return figures.utilization >= BUSY_UTILIZATION || lateMs >= limit;
}
