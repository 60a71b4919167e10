import { z } from 'zod';
import { DbtuneError } from '../errors.js';
import type { LoadResult } from '../model/load-result.js';
import { stageDatabase, type StageDatabase, type WatchedStatement } from '../model/stage-database.js';
import type { PgParser } from '../sql/pg-parser.js';
import { withParse, type WorkloadStatement } from './workload.js';

/**
 * advise's workload from a saved `loadtest --out` result (pure): the statements the database
 * watch saw in each stage, one entry per text, calls and time summed over the stages, most total
 * time first. The texts are pg_stat_statements' normalised ones (`$n` for constants), as the
 * live source's: they are planned as generic plans the same way.
 */

const HINT = 'give a result written by dbtune loadtest --out from a scenario with `database:` (the database watch), on a server with pg_stat_statements';

const statementShape = z.looseObject({ query: z.string(), calls: z.number(), total_ms: z.number() });
/** What advise reads of a stage's database figures, checked: a damaged file is exit 2, not a crash. */
const databaseShape = z.looseObject({
  source: z.string(),
  statements: z.array(statementShape).optional(),
  top_statements: z.array(statementShape),
  top_statements_by_time: z.array(statementShape),
});

/** Results saved before the watch kept every statement in full carry only the top 5 by calls and by time, shortened to 300 characters. */
function seenInStage(db: StageDatabase): { statements: WatchedStatement[]; complete: boolean } {
  if (db.statements) return { statements: db.statements, complete: true };
  const byText = new Map<string, WatchedStatement>();
  for (const s of [...db.top_statements, ...db.top_statements_by_time]) byText.set(s.query, { query: s.query, calls: s.calls, total_ms: s.total_ms });
  return { statements: [...byText.values()], complete: false };
}

/** The workload of a saved load result; a result that holds none is bad input (exit 2) saying why. */
export function statementsFromLoadResult(file: string, result: LoadResult, parser: PgParser, top: number): { statements: WorkloadStatement[]; notes: string[] } {
  const watched = result.stages.flatMap((stage, i) => {
    const db = stageDatabase(stage);
    if (!db) return [];
    const checked = databaseShape.safeParse(db);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new DbtuneError('INPUT_INVALID', `--from ${file}: stages.${i}.database.${issue.path.join('.')}: ${issue.message}`, { hint: HINT });
    }
    return [{ stage: stage.stage, db: checked.data as unknown as StageDatabase }];
  });
  if (!watched.length) {
    const failed = result.stages.find((s) => s.database && 'error' in s.database);
    const why = failed ? `the database watch failed (stage ${failed.stage}: ${(failed.database as { error: string }).error})` : 'the scenario did not watch the database (no `database:` section)';
    throw new DbtuneError('INPUT_INVALID', `--from ${file}: no database figures in this loadtest result: ${why}`, { hint: HINT });
  }
  const sums = new Map<string, { calls: number; totalMs: number; stages: number[] }>();
  const older: number[] = [];
  for (const { stage, db } of watched) {
    const { statements, complete } = seenInStage(db);
    if (!complete && statements.length) older.push(stage);
    for (const s of statements) {
      const sum = sums.get(s.query) ?? { calls: 0, totalMs: 0, stages: [] };
      sum.calls += s.calls;
      sum.totalMs += s.total_ms;
      sum.stages.push(stage);
      sums.set(s.query, sum);
    }
  }
  if (!sums.size) {
    const sources = new Set(watched.map((w) => w.db.source));
    const why = sources.has('pg_stat_statements') ? 'the watched database ran no statement of the counted roles during the stages' : 'pg_stat_statements was not available to the watch (it counted transactions only)';
    throw new DbtuneError('INPUT_INVALID', `--from ${file}: no statements in this loadtest result: ${why}`, { hint: HINT });
  }
  const notes = older.length ? [`${stagesText(older)} ${older.length === 1 ? 'was' : 'were'} saved by an older dbtune: only ${older.length === 1 ? 'its' : 'their'} top statements are known`] : [];
  const ranked = [...sums].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, top);
  const statements = ranked.map(([query, sum], i) => {
    const s: WorkloadStatement = { id: i + 1, query, shown: query, calls: sum.calls, totalMs: sum.totalMs, origin: `${file} ${stagesText(sum.stages)}` };
    if (query === '<insufficient privilege>') return { ...s, parseError: "another role's statement, hidden from the watch: grant pg_read_all_stats to the role that ran the loadtest" };
    // An older result's top statements were shortened to 300 characters, ending in "...": such a text cannot be planned.
    if (query.length === 300 && query.endsWith('...')) return { ...s, parseError: 'the text was shortened when the result was saved (an older dbtune): run the loadtest again' };
    return withParse(s, parser);
  });
  return { statements, notes };
}

function stagesText(stages: number[]): string {
  return stages.length === 1 ? `stage ${stages[0]}` : `stages ${stages.join(', ')}`;
}
