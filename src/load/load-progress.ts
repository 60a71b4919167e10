import { formatMs } from '../config/duration.js';
import type { Paint } from '../report/render-table.js';
import { describeErrors } from './load-report.js';
import type { LoadEvent } from './run-scenario.js';
import { formatLatency, formatPercent } from '../report/figures.js';

/**
 * Load-test progress on stderr. On a terminal one status line is redrawn in
 * place (stage, elapsed, rps, p95 so far, errors); elsewhere (CI logs) a
 * plain line every 10 s. Each finished stage gets its own line either way.
 */
export function createLoadProgress(stream: NodeJS.WritableStream, options: { tty: boolean; paint: Paint }): (event: LoadEvent) => void {
  const { tty, paint } = options;
  let statusShown = false;
  let lastPlain = 0;
  let stageCount = 0;

  const clear = () => {
    if (tty && statusShown) stream.write('\r\u001b[2K');
    statusShown = false;
  };
  const line = (text: string) => {
    clear();
    stream.write(`${text}\n`);
  };

  return (event) => {
    switch (event.type) {
      case 'phase': {
        stageCount = event.stages;
        const what = event.phase === 'warmup' ? 'warm-up (not measured)' : event.phase === 'ramp' ? `ramping up to ${event.users} users (not measured)` : `${event.users} users`;
        line(paint.bold(`stage ${event.stage}/${event.stages}: ${what}, ${formatMs(event.durationMs)}`));
        lastPlain = Date.now();
        break;
      }
      case 'progress': {
        const { live } = event;
        const seconds = live.elapsedMs / 1000;
        const rps = seconds > 0 ? live.requests / seconds : 0;
        const text = `stage ${event.stage}/${stageCount} · ${event.users} users · ${formatMs(Math.min(live.elapsedMs, event.durationMs))}/${formatMs(event.durationMs)} · ${rps.toFixed(0)} rps · p95 ${formatLatency(live.p95)} · ${live.failures} errors`;
        if (tty) {
          const columns = (stream as { columns?: number }).columns ?? 120;
          stream.write(`\r\u001b[2K${paint.dim(text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text)}`);
          statusShown = true;
        } else if (Date.now() - lastPlain >= 10_000) {
          lastPlain = Date.now();
          line(text);
        }
        break;
      }
      case 'stage': {
        const r = event.result;
        const verdict = r.interrupted ? 'interrupted' : r.passed ? 'passed' : 'failed';
        const breached = r.thresholds.filter((t) => !t.passed).map((t) => `${t.name} ${t.observed} > limit ${t.limit}`);
        const text = `stage ${r.stage}/${event.stages} (${r.users} users) ${verdict}: ${r.requests} requests, ${r.rps.toFixed(1)} rps, success ${formatPercent(r.success_rate)}, p95 ${formatLatency(r.latency.p95)}, p99 ${formatLatency(r.latency.p99)}, errors ${describeErrors(r.errors)}${breached.length ? ` — ${breached.join('; ')}` : ''}${r.ended_early ? ` — ended early: ${r.ended_early}` : ''}`;
        line(r.passed ? paint.pass(text) : paint.fail(text));
        break;
      }
    }
  };
}
