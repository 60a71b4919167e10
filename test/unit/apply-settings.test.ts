import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSettings } from '../../src/commands/apply.js';
import { loadProjectConfig } from '../../src/config/project-config.js';
import { InputProblemsError } from '../../src/config/problems.js';
import { DbtuneError } from '../../src/errors.js';
import { DEFAULT_BUILD_SETTINGS, sessionMaintenanceWorkMem } from '../../src/indexing/execute/settings.js';

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-config-'));
  const file = path.join(dir, 'dbtune.yaml');
  await writeFile(file, text);
  return file;
}

describe('apply settings: flags override dbtune.yaml, which overrides the defaults', () => {
  it('uses the defaults with neither', () => {
    expect(buildSettings({}, {})).toEqual(DEFAULT_BUILD_SETTINGS);
  });

  it.each([
    ['config only', {}, { apply: { jobs: 4, maintenance_work_mem: '1GB', max_wait: '10m', lock_timeout: '5s', analyze: false } }, { jobs: 4, maintenanceWorkMem: '1GB', maxWaitMs: 600_000, lockTimeoutMs: 5000, analyze: 'never' }],
    ['flag over config', { jobs: '8', maxWait: '0', analyze: true }, { apply: { jobs: 4, max_wait: '10m', analyze: false } }, { jobs: 8, maxWaitMs: 0, analyze: 'when-useful' }],
    ['always_analyze in config', {}, { apply: { always_analyze: true } }, { analyze: 'always' }],
    ['--always-analyze over analyze: false', { alwaysAnalyze: true }, { apply: { analyze: false } }, { analyze: 'always' }],
    ['--no-analyze over always_analyze', { analyze: false }, { apply: { always_analyze: true } }, { analyze: 'never' }],
    ['--analyze over always_analyze', { analyze: true }, { apply: { always_analyze: true } }, { analyze: 'when-useful' }],
    ['numbers as milliseconds in config', {}, { apply: { lock_timeout: 250 } }, { lockTimeoutMs: 250 }],
  ])('%s', (_label, flags, config, expected) => {
    expect(buildSettings(flags, config)).toMatchObject(expected);
  });

  it.each([
    [{ jobs: '0' }],
    [{ jobs: 'many' }],
    [{ maintenanceWorkMem: 'lots' }],
    [{ maintenanceWorkMem: "1GB'; DROP TABLE x; --" }],
    [{ maxWait: 'soon' }],
    [{ lockTimeout: '-1s' }],
    [{ maxParallelMaintenanceWorkers: '2.5' }],
    [{ analyze: false, alwaysAnalyze: true }],
  ])('rejects %j as bad usage', (flags) => {
    expect(() => buildSettings(flags, {})).toThrow(DbtuneError);
    try {
      buildSettings(flags, {});
    } catch (error) {
      expect((error as DbtuneError).code).toBe('USAGE');
    }
  });
});

describe('dbtune.yaml', () => {
  it('is optional when not named, required when named', async () => {
    await expect(loadProjectConfig(undefined)).resolves.toEqual({});
    await expect(loadProjectConfig('/nonexistent/dbtune.yaml')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('reports every problem with its position', async () => {
    const file = await configFile('format: tabel\napply:\n  jobs: 0\n  maintenace_work_mem: 1GB\n');
    const error = await loadProjectConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputProblemsError);
    expect((error as InputProblemsError).problems.map((p) => [p.line, p.col, p.path])).toEqual([
      [1, 9, 'format'],
      [3, 9, 'apply.jobs'],
      [4, 3, 'apply.maintenace_work_mem'],
    ]);
    expect((error as InputProblemsError).problems[2]!.message).toMatch(/did you mean "maintenance_work_mem"/);
  });

  it('refuses analyze: false with always_analyze: true, at the second key', async () => {
    const file = await configFile('apply:\n  analyze: false\n  always_analyze: true\n');
    const error = await loadProjectConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputProblemsError);
    expect((error as InputProblemsError).problems.map((p) => [p.line, p.path, p.message])).toEqual([[3, 'apply.always_analyze', 'contradicts analyze: false; keep one of them']]);
  });
});

describe('maintenance_work_mem of each build session', () => {
  it('is what the user gave, however many builds run at once', () => {
    expect(sessionMaintenanceWorkMem('2GB', 8)).toBe('2GB');
  });

  it('is otherwise 512MB for up to 2 builds and a share of 1GB for more, never below PostgreSQL’s 64MB', () => {
    expect([1, 2, 3, 4, 8, 16, 64].map((builds) => sessionMaintenanceWorkMem(undefined, builds))).toEqual(['512MB', '512MB', '341MB', '256MB', '128MB', '64MB', '64MB']);
  });
});
