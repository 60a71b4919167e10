import { displayQualified } from '../sql/identifiers.js';
import { formatMs } from '../config/duration.js';
import type { Paint } from '../report/render-table.js';
import { describeBlocker, type BuildSnapshot } from './build-monitor.js';
import type { ApplyEvent } from './execute/results.js';

/**
 * Turns apply's events into progress on stderr. On a terminal, one status
 * line is redrawn in place with every running build's phase and percentage;
 * elsewhere (CI logs), a plain line on each phase change, at most every 10 s
 * per build otherwise.
 */
export function createApplyProgress(stream: NodeJS.WritableStream, options: { tty: boolean; paint: Paint }): (event: ApplyEvent) => void {
  const { tty, paint } = options;
  const status = new Map<string, string>();
  const lastPhase = new Map<string, { phase: string; at: number }>();
  let statusShown = false;

  const clearStatus = () => {
    if (tty && statusShown) {
      stream.write('\r\u001b[2K');
      statusShown = false;
    }
  };
  const drawStatus = () => {
    if (!tty || status.size === 0) return;
    const columns = (stream as { columns?: number }).columns ?? 120;
    const text = [...status.entries()].map(([name, s]) => `${name}: ${s}`).join(' | ');
    stream.write(`\r\u001b[2K${paint.dim(text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text)}`);
    statusShown = true;
  };
  const line = (text: string) => {
    clearStatus();
    stream.write(`${text}\n`);
    drawStatus();
  };

  return (event) => {
    switch (event.type) {
      case 'notice':
        line(paint.dim(`note: ${event.message}`));
        break;
      case 'statement':
        status.set(event.plan.declaration.name, 'starting');
        line(`${paint.bold(event.plan.declaration.name)}: ${event.statement.sql} ${paint.dim(`(pid ${event.pid})`)}`);
        break;
      case 'progress': {
        const name = event.plan.declaration.name;
        const text = describeProgress(event.snapshot);
        status.set(name, `${text} ${formatMs(event.elapsedMs)}`);
        if (tty) {
          clearStatus();
          drawStatus();
        } else {
          const previous = lastPhase.get(name);
          const phase = event.snapshot.phase ?? event.snapshot.waitEvent ?? 'running';
          if (!previous || previous.phase !== phase || Date.now() - previous.at > 10_000) {
            lastPhase.set(name, { phase, at: Date.now() });
            line(`${name}: ${text} (${formatMs(event.elapsedMs)})`);
          }
        }
        break;
      }
      case 'waiting': {
        const name = event.plan.declaration.name;
        const who = event.blockers.map(describeBlocker).join('\n    ');
        const why = event.onOwnBuilds ? ' (our own parallel builds: concurrent builds wait for each other here)' : ` — waited ${formatMs(event.waitedMs)}`;
        line(paint.warn(`${name}: waiting for ${event.blockers.length === 1 ? 'session' : 'sessions'}${why}:\n    ${who}`));
        break;
      }
      case 'cancelling':
        line(paint.fail(`${event.plan.declaration.name}: ${event.reason}`));
        break;
      case 'done': {
        const name = event.result.plan.declaration.name;
        status.delete(name);
        lastPhase.delete(name);
        if (!event.result.executed.length && event.result.action !== 'failed' && event.result.action !== 'skipped') break;
        const took = event.result.durationMs ? ` in ${formatMs(event.result.durationMs)}` : '';
        const text = `${name}: ${event.result.action}${took}${event.result.action === 'failed' || event.result.action === 'skipped' ? ` — ${event.result.reason}` : ''}`;
        line(event.result.action === 'failed' ? paint.fail(text) : event.result.action === 'skipped' ? paint.warn(text) : paint.pass(text));
        if (status.size === 0) clearStatus();
        break;
      }
      case 'analyze':
        line(event.skipped ? paint.dim(`no ANALYZE of ${displayQualified(event.table)}: ${event.reason}`) : `ANALYZE ${displayQualified(event.table)} (${event.reason})`);
        break;
    }
  };
}

export function describeProgress(s: BuildSnapshot): string {
  const phase = s.phase ?? (s.waiting ? `waiting (${s.waitEvent})` : 'starting');
  const pct = (done: number | null, total: number | null) => (done !== null && total ? ` ${Math.min(100, Math.floor((100 * done) / total))}%` : '');
  if (s.phase?.includes('scanning') && s.blocksTotal) return `${phase}${pct(s.blocksDone, s.blocksTotal)} (${s.blocksDone}/${s.blocksTotal} blocks)`;
  if (s.tuplesTotal) return `${phase}${pct(s.tuplesDone, s.tuplesTotal)} (${s.tuplesDone}/${s.tuplesTotal} tuples)`;
  if (s.lockersTotal) return `${phase} (${s.lockersDone}/${s.lockersTotal} sessions)`;
  if (s.partitionsTotal) return `${phase} (${s.partitionsDone}/${s.partitionsTotal} partitions)`;
  return phase;
}
