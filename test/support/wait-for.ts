/**
 * Bounded polling for a condition the test needs (a server-side event, a
 * request count), instead of a fixed sleep that is too short on a loaded
 * machine and wastes time on an idle one.
 */
export interface WaitForOptions {
  /** What is awaited, for the error: "the build of idx_x to reach 'building index'". */
  what: string;
  /** Give up after this long. Default 30 s: far above the usual, below the test timeout. */
  timeoutMs?: number;
  /** Pause between probes. Default 25 ms. */
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, `false` or
 * `null`, and returns that value. Throws, naming `what` and the last value
 * seen, when `timeoutMs` runs out; a probe that throws fails at once.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitForOptions): Promise<Exclude<T, undefined | false | null>> {
  const { what, timeoutMs = 30_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await probe();
    if (last !== undefined && last !== false && last !== null) return last as Exclude<T, undefined | false | null>;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last probe: ${JSON.stringify(last)})`);
}
