import { describe, expect, it } from 'vitest';
import { generatorSaturated, waitBeforeReconnect } from '../../src/load/generator-health.js';

describe('reconnect wait', () => {
  it.each([
    ['ECONNREFUSED', true],
    ['EHOSTUNREACH', true],
    ['ENETUNREACH', true],
    ['ETIMEDOUT', true],
    ['ENOTFOUND', true],
    // A live server that reset or closed: reconnect at once, or the load drops silently.
    ['ECONNRESET', false],
    ['EPIPE', false],
    ['ECONNABORTED', false],
    [undefined, false],
  ] as const)('%s: wait %s', (code, wait) => {
    expect(waitBeforeReconnect(code)).toBe(wait);
  });
});

describe('generator saturation', () => {
  // loopDelayP99Ms includes the 10 ms sampling interval: 12 ms is 2 ms late.
  it.each([
    { case: 'idle generator, fast target', utilization: 0.3, loopDelayP99Ms: 12, stageP50Ms: 1, saturated: false },
    { case: 'timers 15 ms late against 1 ms responses (floor 10 ms)', utilization: 0.5, loopDelayP99Ms: 25, stageP50Ms: 1, saturated: true },
    { case: 'timers 8 ms late: under the floor', utilization: 0.5, loopDelayP99Ms: 18, stageP50Ms: 1, saturated: false },
    { case: 'timers 30 ms late against 40 ms responses', utilization: 0.6, loopDelayP99Ms: 40, stageP50Ms: 40, saturated: true },
    { case: 'timers 30 ms late against 800 ms responses', utilization: 0.6, loopDelayP99Ms: 40, stageP50Ms: 800, saturated: false },
    { case: 'timers 190 ms late: always (the old absolute limit)', utilization: 0.2, loopDelayP99Ms: 200, stageP50Ms: 5000, saturated: true },
    { case: 'event loop 90% busy', utilization: 0.9, loopDelayP99Ms: 11, stageP50Ms: 100, saturated: true },
    { case: 'nothing answered: the floor applies', utilization: 0.1, loopDelayP99Ms: 15, stageP50Ms: 0, saturated: false },
  ])('$case: $saturated', ({ utilization, loopDelayP99Ms, stageP50Ms, saturated }) => {
    expect(generatorSaturated({ utilization, loopDelayP99Ms, resolutionMs: 10, stageP50Ms })).toBe(saturated);
  });
});
