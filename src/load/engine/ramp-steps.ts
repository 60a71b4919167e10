/** How many steps a ramp between two stages takes at most. */
const RAMP_STEPS = 5;

/** Evenly spaced user counts from `from` (exclusive) towards `to` (exclusive): the ramp before a stage at `to`. */
export function rampSteps(from: number, to: number): number[] {
  const steps: number[] = [];
  for (let k = 1; k <= RAMP_STEPS; k++) {
    const users = Math.max(1, Math.round(from + ((to - from) * k) / (RAMP_STEPS + 1)));
    if (users !== from && users !== to && users !== steps.at(-1)) steps.push(users);
  }
  return steps;
}
