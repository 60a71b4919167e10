import { describe, expect, it } from 'vitest';
import { chooseBuildParallelism, type BuildGroup } from '../../src/indexing/execute/build-parallelism.js';
import type { ExecutionResult } from '../../src/indexing/execute/results.js';
import type { RefusedSetting } from '../../src/indexing/execute/settings.js';
import { executionReport } from '../../src/indexing/index-report.js';
import { planIndex } from '../../src/indexing/plan.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { declaration } from './support/fixtures.js';

const capacity = { cores: 2, coresSource: 'server' as const, maxWorkerProcesses: 8, maxParallelWorkers: 8, maxParallelMaintenanceWorkers: 2, minParallelTableScanPages: 1024 };
const groups: BuildGroup[] = [
  { table: 'public.orders', pages: 100_000, indexes: 1 },
  { table: 'public.items', pages: 2_000, indexes: 1 },
];

function run(refused: RefusedSetting[] = []): ExecutionResult {
  const choice = chooseBuildParallelism(groups, capacity);
  const plan = planIndex(declaration(), { status: 'absent', reason: 'absent' });
  return {
    indexes: [{ plan, action: 'created', reason: 'built', executed: plan.statements.map((s) => s.sql), durationMs: 1200, parallelWorkers: 1 }],
    analyzed: [],
    analyzeSkipped: [],
    analyzeFailures: [],
    interrupted: false,
    schedule: { choice, capacity, groups, workersByTable: new Map([['public.orders', 1], ['public.items', 0]]), refused },
  };
}

describe("apply's report shows the build schedule in every format", () => {
  it('as a note (table, Markdown), JUnit properties and a JSON object, with each build session’s own value', () => {
    const report = executionReport('apply', run(), { version: '18.1' }, {});
    const line = 'schedule: builds in parallel with workers: 2 at a time, parallel workers per build: public.orders 1, public.items 0 (2 cores (read from the server)';
    expect(report.notes[0]).toContain(line);
    expect(renderMarkdown(report)).toContain(`> ${line}`);
    const junit = renderJunit(report);
    expect(junit).toContain('<property name="schedule.mode" value="builds in parallel with workers"/>');
    expect(junit).toContain('<property name="schedule.workers.public.orders" value="1"/>');
    expect(junit).toContain('<property name="schedule.cores" value="2 (server)"/>');
    const document = report.document as { schedule: Record<string, unknown>; indexes: Array<Record<string, unknown>> };
    expect(document.schedule).toMatchObject({ mode: 'builds in parallel with workers', builds_at_once: 2, cores: 2, cores_source: 'server', tables: [{ table: 'public.orders', max_parallel_maintenance_workers: 1 }, { table: 'public.items', max_parallel_maintenance_workers: 0 }] });
    expect(document.indexes[0]).toMatchObject({ max_parallel_maintenance_workers: 1 });
  });

  it('warns of a setting the server refused', () => {
    const report = executionReport('apply', run([{ name: 'max_parallel_maintenance_workers', wanted: '1', error: 'permission denied to set parameter' }]), { version: '18.1' }, {});
    expect(report.notes[1]).toBe('warning: the server refused max_parallel_maintenance_workers = 1 for the build sessions (permission denied to set parameter); they used its own value');
  });

  it('has no schedule when nothing was built', () => {
    const report = executionReport('apply', { indexes: [], analyzed: [], analyzeSkipped: [], analyzeFailures: [], interrupted: false }, { version: '18.1' }, {});
    expect(report.notes).toEqual([]);
    expect(report.document).not.toHaveProperty('schedule');
  });
});
