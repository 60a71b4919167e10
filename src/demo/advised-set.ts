import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadIndexSets } from '../config/load-index-sets.js';
import { connect } from '../db/client.js';
import { resolveConnectionOptions } from '../db/connection-options.js';
import { readInputFile } from '../files/input-file.js';
import { writeOutputFile } from '../files/output-file.js';
import { checksForAdvisedSet, compareWithDemoSet, type AdviceComparison } from './advice-match.js';

/**
 * The demo's advise step around the command: the workload it reads, and what the demo does with
 * the set advise wrote — applied, with demo.yaml's checks asking for its indexes, when it found
 * at least all but one of demo.yaml's indexes (or equivalent ones); demo.yaml otherwise, the two
 * shown side by side either way.
 */

/** From here on pg_stat_statements holds what the baseline load runs, not the seeding or the checks. */
export async function resetWorkloadStatistics(databaseUrl: string): Promise<void> {
  const session = await connect(resolveConnectionOptions({ databaseUrl, env: {} }), { applicationName: 'dbtune demo' });
  try {
    await session.query('SELECT pg_stat_statements_reset()');
  } finally {
    await session.close();
  }
}

export interface AfterAdvice {
  comparison: AdviceComparison;
  /** Whether the demo applies advise's set (else indexes/demo.yaml). */
  appliesAdvised: boolean;
  /** The index set to apply and verify. */
  set: string;
  /** The checks to run after apply (the same check names as the baseline's). */
  checks: string;
  /** The scenario for the load after apply: the demo's, watching the applied set's indexes. */
  scenario: string;
}

export async function afterAdvice(files: { demoSet: string; advisedSet: string; scenario: string; dir: string }): Promise<AfterAdvice> {
  // advise writes no file when it advises nothing (an index set needs one index): then it found none.
  const [[demo], advised] = await Promise.all([loadIndexSets([files.demoSet]), existsSync(files.advisedSet) ? loadIndexSets([files.advisedSet]) : []]);
  const comparison = compareWithDemoSet(demo!.indexes, advised[0]?.indexes ?? []);
  const appliesAdvised = comparison.found >= demo!.indexes.length - 1;
  const set = appliesAdvised ? files.advisedSet : files.demoSet;
  let checks = files.demoSet;
  if (appliesAdvised) {
    checks = path.join(files.dir, 'checks.yaml');
    await writeOutputFile(checks, checksForAdvisedSet(await readInputFile(files.demoSet), comparison), "the demo's checks");
  }
  const scenario = path.join(files.dir, 'scenario.yaml');
  const text = (await readInputFile(files.scenario)).replace(/^(\s*indexes:\s*)\[[^\]\n]*\]/m, `$1[${JSON.stringify(set)}]`);
  await writeOutputFile(scenario, text, "the demo's scenario");
  return { comparison, appliesAdvised, set, checks, scenario };
}
