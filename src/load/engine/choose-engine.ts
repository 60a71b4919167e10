import { availableParallelism } from 'node:os';
import { parseDuration } from '../../config/duration.js';
import type { LoadedScenario } from '../../config/load-scenario.js';
import { DbtuneError } from '../../errors.js';
import { autocannonEngine } from './autocannon/engine.js';
import type { LoadEngine } from './load-engine.js';
import { locustEngine } from './locust/engine.js';
import { exportLocustfile } from './locust/export.js';
import { findLocust } from './locust/install.js';
import { unsupportedByLocust } from './locust/locustfile.js';

/**
 * `--engine`: which engine sends the load, and its options, checked before
 * anything is started (exit 2 naming the option).
 */

export interface EngineFlags {
  engine?: string;
  workers?: string;
  locust?: string;
  expectWorkers?: string;
  masterBind?: string;
  expectWorkersTimeout?: string;
  exportLocustfile?: string;
}

export type EngineChoice =
  | { kind: 'autocannon' }
  | { kind: 'locust'; localWorkers: number; remoteWorkers: number; locustPath?: string; bind?: { host: string; port: number }; workersTimeoutMs?: number };

const LOCUST_ONLY = ['workers', 'locust', 'expectWorkers', 'masterBind', 'expectWorkersTimeout', 'exportLocustfile'] as const;
const FLAG: Record<(typeof LOCUST_ONLY)[number], string> = {
  workers: '--workers',
  locust: '--locust',
  expectWorkers: '--expect-workers',
  masterBind: '--master-bind',
  expectWorkersTimeout: '--expect-workers-timeout',
  exportLocustfile: '--export-locustfile',
};

/** Reads the engine flags; pure apart from the core count (the default --workers). */
export function chooseEngine(flags: EngineFlags, scenario: Pick<LoadedScenario, 'requests'>, cores = availableParallelism()): EngineChoice {
  const engine = flags.engine ?? 'autocannon';
  if (engine !== 'autocannon' && engine !== 'locust') throw new DbtuneError('USAGE', `--engine must be autocannon or locust, got ${JSON.stringify(engine)}`);
  if (engine === 'autocannon') {
    const given = LOCUST_ONLY.filter((k) => flags[k] !== undefined).map((k) => FLAG[k]);
    if (given.length) throw new DbtuneError('USAGE', `${given.join(', ')} ${given.length > 1 ? 'are options' : 'is an option'} of --engine locust`);
    return { kind: 'autocannon' };
  }
  const problems = unsupportedByLocust(scenario);
  if (problems.length) throw new DbtuneError('USAGE', problems.join('; '));
  const count = (flag: string, text: string | undefined, min: number): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > 1024) throw new DbtuneError('USAGE', `${flag} must be a whole number from ${min} to 1024, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const remoteWorkers = count('--expect-workers', flags.expectWorkers, 1) ?? 0;
  // With remote workers, local ones only when asked for.
  const localWorkers = count('--workers', flags.workers, remoteWorkers ? 0 : 1) ?? (remoteWorkers ? 0 : Math.max(1, cores));
  const choice: EngineChoice = { kind: 'locust', localWorkers, remoteWorkers };
  if (flags.expectWorkersTimeout !== undefined) {
    const ms = parseDuration(flags.expectWorkersTimeout);
    if (ms === undefined || ms < 1000) throw new DbtuneError('USAGE', `--expect-workers-timeout must be a duration of at least 1s, like 30s or 2m, got ${JSON.stringify(flags.expectWorkersTimeout)}`);
    choice.workersTimeoutMs = ms;
  }
  if (flags.locust !== undefined) choice.locustPath = flags.locust;
  if (flags.masterBind !== undefined) choice.bind = parseBind(flags.masterBind);
  else if (remoteWorkers && flags.exportLocustfile === undefined) throw new DbtuneError('USAGE', '--expect-workers needs --master-bind HOST:PORT: the address remote workers connect to (e.g. 0.0.0.0:5557)');
  return choice;
}

function parseBind(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new DbtuneError('USAGE', `--master-bind must be HOST:PORT, e.g. 0.0.0.0:5557, got ${JSON.stringify(text)}`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export interface EngineContext {
  scenario: Pick<LoadedScenario, 'requests' | 'rows'>;
  target: URL;
  timeoutMs: number;
  insecure: boolean;
  env: NodeJS.ProcessEnv;
}

/** The engine chosen, and how to release what it started (nothing for autocannon). */
export function createEngine(choice: EngineChoice, context: EngineContext): { engine: LoadEngine; close: () => Promise<void> } {
  if (choice.kind === 'autocannon') return { engine: autocannonEngine, close: async () => {} };
  const engine = locustEngine({
    ...context,
    localWorkers: choice.localWorkers,
    remoteWorkers: choice.remoteWorkers,
    ...(choice.locustPath !== undefined ? { locustPath: choice.locustPath } : {}),
    ...(choice.bind ? { bind: choice.bind } : {}),
    ...(choice.workersTimeoutMs !== undefined ? { workersTimeoutMs: choice.workersTimeoutMs } : {}),
  });
  return { engine, close: () => engine.close() };
}

/**
 * `--export-locustfile DIR`: writes the locustfile and its README for remote
 * workers instead of running the load. Needs the local Locust (its version
 * goes into both).
 */
export async function exportForWorkers(choice: EngineChoice, context: EngineContext & { scenario: Pick<LoadedScenario, 'requests' | 'rows' | 'spec'>; scenarioFile: string }, dir: string): Promise<string[]> {
  if (choice.kind !== 'locust') throw new DbtuneError('USAGE', '--export-locustfile is an option of --engine locust');
  const install = findLocust(choice.locustPath, context.env);
  return exportLocustfile(dir, context.scenario, {
    target: context.target,
    timeoutMs: context.timeoutMs,
    insecure: context.insecure,
    scenarioFile: context.scenarioFile,
    locustVersion: install.version,
    ...(install.emptyVersionIs ? { emptyVersionIs: install.emptyVersionIs } : {}),
    ...(choice.bind ? { bind: choice.bind } : {}),
  });
}
