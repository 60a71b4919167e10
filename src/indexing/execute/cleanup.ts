import type { SqlSession } from '../../db/client.js';
import type { QualifiedName } from '../../sql/identifiers.js';
import { dropIndexSql } from '../index-sql.js';
import type { IndexPlan } from '../plan.js';
import type { AppliedIndex } from './results.js';

/** Whether the index exists and is valid; undefined when the catalog could not be read. */
async function indexValidity(session: SqlSession, index: QualifiedName): Promise<Array<{ valid: boolean }> | undefined> {
  return session
    .query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_index i ON i.indexrelid = c.oid WHERE n.nspname = $1 AND c.relname = $2`,
      [index.schema, index.name],
    )
    .catch(() => undefined);
}

/**
 * A rebuild stopped after its copy was built: if the old index still stands
 * valid, drop the copy (back to plain drift); otherwise the copy is the good
 * one, and the next `apply` finishes the swap (plan.ts, withRebuildLeftover).
 */
export async function settlePartialRebuild(session: SqlSession, plan: IndexPlan, result: AppliedIndex, cleanupTimeoutMs: number): Promise<void> {
  const schema = plan.declaration.table.schema;
  const rows = await indexValidity(session, { schema, name: plan.declaration.name });
  if (rows && rows[0]?.valid) {
    const dropped = await dropIndex(session, { schema, name: plan.buildName }, cleanupTimeoutMs);
    result.leftover = dropped ? 'dropped' : 'remains';
    result.leftoverIndex = plan.buildName;
    result.reason += dropped
      ? `; the rebuilt copy ${plan.buildName} was dropped, the drifted index is untouched`
      : `; the rebuilt copy ${plan.buildName} could not be dropped yet: the next apply --rebuild-drift finishes the swap with it, and dbtune drop removes it`;
  } else {
    result.leftover = 'remains';
    result.leftoverIndex = plan.buildName;
    result.reason += `; the rebuilt index is in place as ${plan.buildName}: the next apply finishes the swap (renames it, nothing is built again)`;
  }
}

/** Drops an index concurrently under the cleanup budget; false if it could not. */
async function dropIndex(session: SqlSession, index: QualifiedName, timeoutMs: number): Promise<boolean> {
  try {
    const [setting] = await session.query<{ lock_timeout: string }>("SELECT current_setting('lock_timeout') AS lock_timeout");
    await session.query("SELECT set_config('lock_timeout', $1, false)", [`${timeoutMs}ms`]);
    try {
      await session.query(dropIndexSql(index));
    } finally {
      await session.query("SELECT set_config('lock_timeout', $1, false)", [setting!.lock_timeout]).catch(() => undefined);
    }
    return true;
  } catch {
    return false;
  }
}

/** Drops the invalid index a failed concurrent build left, if there is one (never a valid one). */
export async function dropLeftover(session: SqlSession, index: QualifiedName, timeoutMs: number): Promise<'dropped' | 'remains' | undefined> {
  const rows = await indexValidity(session, index);
  if (!rows) return 'remains';
  if (rows.length === 0 || rows[0]!.valid) return undefined;
  return (await dropIndex(session, index, timeoutMs)) ? 'dropped' : 'remains';
}
