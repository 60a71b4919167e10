import { loadPgParser } from '../sql/pg-parser.js';
import { assertOneStatement } from '../sql/statement-guard.js';
import type { IndexPlan, PlannedStatement } from './plan.js';

const STATEMENT_TYPE: Record<PlannedStatement['purpose'], string> = {
  create: 'IndexStmt',
  'create-parent': 'IndexStmt',
  'drop-leftover': 'DropStmt',
  'drop-old': 'DropStmt',
  rename: 'RenameStmt',
  attach: 'AlterTableStmt',
};

/**
 * Every statement of the plans reads as one statement of its purpose's kind,
 * before any runs or is printed (statement-guard.ts). Throws INPUT_SQL_REJECTED.
 */
export async function assertPlannedStatements(plans: readonly IndexPlan[]): Promise<void> {
  const statements = plans.flatMap((plan) => plan.statements);
  if (statements.length === 0) return;
  const parser = await loadPgParser();
  for (const statement of statements) assertOneStatement(parser, statement.sql, STATEMENT_TYPE[statement.purpose]);
}
