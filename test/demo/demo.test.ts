import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SavedExplain } from '../../src/model/explain-result.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli } from '../support/cli.js';

/**
 * `dbtune demo --quick` end to end, as a newcomer runs it: its own embedded
 * PostgreSQL and API, baseline, advise --build, apply what it found, verify, after. The improvement it
 * reports must be real: read back from the results it saved.
 */
describe('dbtune demo --quick', () => {
  it('tells the whole story and the improvement it reports is measured', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-demo-test-'));
    const run = await runCli(['demo', '--quick', '--dir', dir]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (const step of ['1/7 Baseline', '2/7 Baseline', '3/7 dbtune advise --build', '4/7 dbtune apply advised.yaml', '5/7 dbtune verify', '6/7 After', '7/7 After', 'Before → after']) expect(run.stdout).toContain(step);

    const read = async <T>(file: string) => JSON.parse(await readFile(path.join(dir, file), 'utf8')) as T;
    const [explainBefore, explainAfter] = [await read<SavedExplain>('explain-before.json'), await read<SavedExplain>('explain-after.json')];
    // Seq scans before; after, every check passes on its index and no plan has a Seq Scan.
    expect(explainBefore.checks.every((c) => /Seq Scan/.test(c.summary ?? ''))).toBe(true);
    expect(explainAfter.checks.every((c) => c.passed)).toBe(true);
    expect(explainAfter.checks.some((c) => /Seq Scan/.test(c.summary ?? ''))).toBe(false);

    const [before, after] = [await read<LoadResult>('load-before.json'), await read<LoadResult>('load-after.json')];
    expect(after.stages.map((s) => s.users)).toEqual([10, 50, 100]);
    for (const [i, stage] of after.stages.entries()) {
      expect(stage.requests).toBeGreaterThan(0);
      expect(stage.latency.p95, `stage ${i + 1}`).toBeLessThan(before.stages[i]!.latency.p95);
    }
    expect(after.max_sustained_users).toBeGreaterThanOrEqual(before.max_sustained_users);
    // The database watch saw the N+1 before and after (indexes do not remove queries) and the seq scans go.
    const db = (r: LoadResult) => r.stages[0]!.database as { queries_per_request: number; tables: Array<{ seq_scans: number }>; indexes: Array<{ used: boolean }> };
    expect(db(before).queries_per_request).toBeGreaterThan(1.5);
    expect(db(before).tables.reduce((n, t) => n + t.seq_scans, 0)).toBeGreaterThan(0);
    expect(db(after).tables.reduce((n, t) => n + t.seq_scans, 0)).toBe(0);
    expect(db(after).indexes.every((i) => i.used)).toBe(true);

    const summary = await read<{ advice: { applied: string; found: number; of: number; matches: Array<{ advised: string | null }> }; stages: Array<{ p95_ms: { before: number; after: number } }> }>('summary.json');
    // advise, from the statements the baseline load ran, finds (at least 5 of) demo.yaml's 6 indexes; the demo applies its set.
    expect(summary.advice).toMatchObject({ applied: 'advised', of: 6 });
    expect(summary.advice.found).toBeGreaterThanOrEqual(5);
    expect(explainAfter.checks.map((c) => c.name).sort()).toEqual(explainBefore.checks.map((c) => c.name).sort());
    expect((await readFile(path.join(dir, 'advised.yaml'), 'utf8'))).toMatch(/really built \(--build\)/);
    expect(summary.stages.every((s) => s.p95_ms.after < s.p95_ms.before)).toBe(true);
    expect(run.stdout).toMatch(/HTML report: .*report\.html/);
    expect((await readFile(path.join(dir, 'report.html'), 'utf8')).length).toBeGreaterThan(1000);
    // Nothing is left running: the demo stopped its server (its data dir is gone).
    expect(run.stdout).not.toMatch(/postgres:\/\/[^@\s]*:[^@\s]+@/);
  });
});

describe('dbtune demo, bad usage', () => {
  it('refuses an unwritable --report before starting anything (exit 2)', async () => {
    const run = await runCli(['demo', '--quick', '--report', '/nonexistent-dir/r.html']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot write --report file/);
    expect(run.stdout).not.toMatch(/Seeding/);
  });
});

describe('dbtune init', () => {
  it('scaffolds valid files, and refuses to overwrite without --force', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-init-'));
    const first = await runCli(['init', '--dir', dir]);
    expect(first.code, first.stderr).toBe(0);
    for (const file of ['indexes/example.yaml', 'scenarios/example.yaml', 'dbtune.yaml']) expect(first.stdout).toContain(file);
    // What it wrote is valid input: plan refuses nothing before connecting (an unreachable database is exit 3, bad input 2).
    const plan = await runCli(['plan', path.join(dir, 'indexes/example.yaml'), '--config', path.join(dir, 'dbtune.yaml')], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:9/none?connect_timeout=2' });
    expect(plan.code, plan.stderr).toBe(3);
    const load = await runCli(['loadtest', path.join(dir, 'scenarios/example.yaml'), '--target', 'http://127.0.0.1:9'], { API_TOKEN: 't' });
    expect(load.code, load.stderr).toBe(3);

    const again = await runCli(['init', '--dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/indexes\/example\.yaml, scenarios\/example\.yaml, dbtune\.yaml exist; nothing was written/);
    expect((await runCli(['init', '--dir', dir, '--force'])).code).toBe(0);
  });
});
