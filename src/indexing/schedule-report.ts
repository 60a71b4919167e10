import { describeChoice } from './execute/build-parallelism.js';
import type { BuildSchedule } from './execute/results.js';

/** apply's schedule as the table and Markdown show it: the choice, then any setting the server refused. */
export function scheduleNotes(schedule: BuildSchedule | undefined): string[] {
  if (!schedule) return [];
  return [
    `schedule: ${describeChoice(schedule.choice, schedule.groups)}`,
    ...schedule.refused.map((r) => `warning: the server refused ${r.name} = ${r.wanted} for the build sessions (${r.error}); they used its own value`),
  ];
}

/** The same as JUnit properties of the indexes suite. */
export function scheduleProperties(schedule: BuildSchedule | undefined): Array<{ name: string; value: string }> {
  if (!schedule) return [];
  const { choice } = schedule;
  return [
    { name: 'schedule.mode', value: choice.mode },
    { name: 'schedule.builds_at_once', value: String(choice.buildsAtOnce) },
    { name: 'schedule.cores', value: `${choice.cores} (${choice.coresSource})` },
    ...schedule.groups.map((g, i) => ({ name: `schedule.workers.${g.table}`, value: String(choice.workers[i]) })),
  ];
}

/** The same in apply's JSON document (`schedule`). */
export function scheduleDocument(schedule: BuildSchedule) {
  const { choice, capacity } = schedule;
  return {
    mode: choice.mode,
    builds_at_once: choice.buildsAtOnce,
    cores: choice.cores,
    cores_source: choice.coresSource,
    given: choice.given,
    reason: choice.reason,
    server: {
      max_worker_processes: capacity.maxWorkerProcesses,
      max_parallel_workers: capacity.maxParallelWorkers,
      max_parallel_maintenance_workers: capacity.maxParallelMaintenanceWorkers,
      min_parallel_table_scan_pages: capacity.minParallelTableScanPages,
    },
    tables: schedule.groups.map((g, i) => ({ table: g.table, pages: g.pages, indexes: g.indexes, max_parallel_maintenance_workers: choice.workers[i] })),
    refused: schedule.refused,
  };
}
