import type { ThresholdResult } from '../model/load-result.js';
import type { KnownTables, StageDatabase } from '../model/stage-database.js';
import type { DatabaseThresholds } from '../config/scenario-schema.js';
import { formatPercent, parseRate } from '../report/figures.js';

export type { DatabaseThresholds } from '../config/scenario-schema.js';

/** A scenario's `database.thresholds`, judged per stage with the HTTP ones. */
export function evaluateDatabaseThresholds(thresholds: DatabaseThresholds, db: StageDatabase, known?: KnownTables): ThresholdResult[] {
  return databaseChecks(thresholds, known).map(({ name, limit, observe }) =>
    // Zero queries per request from a database the API never touched is not a pass.
    db.no_data ? { name, limit, observed: 'no data', passed: false } : { name, limit, ...observe(db) },
  );
}

interface DatabaseCheck {
  name: string;
  limit: string;
  observe(db: StageDatabase): { observed: string; passed: boolean };
}

function databaseChecks(thresholds: DatabaseThresholds, known?: KnownTables): DatabaseCheck[] {
  const checks: DatabaseCheck[] = [];
  const max = thresholds.queries_per_request;
  if (max !== undefined) {
    checks.push({
      name: 'queries_per_request',
      limit: `≤ ${max}`,
      observe: ({ queries_per_request: observed, statement_tracking: tracking }) => {
        // A reset mid-stage leaves a part of the stage's statements of unknown size: no data, not a pass.
        if (tracking?.reset) return { observed: 'no data (pg_stat_statements reset)', passed: false };
        return { observed: observed === null ? 'no requests' : String(observed), passed: observed !== null && observed <= max };
      },
    });
  }
  const connections = thresholds.connections;
  if (connections !== undefined) {
    checks.push({ name: 'connections', limit: `≤ ${connections}`, observe: (db) => ({ observed: String(db.connections_peak), passed: db.connections_peak <= connections }) });
  }
  if (thresholds.cache_hit_ratio !== undefined) {
    const limit = parseRate(thresholds.cache_hit_ratio);
    checks.push({
      name: 'cache_hit_ratio',
      limit: `≥ ${formatPercent(limit)}`,
      // No block was touched: nothing missed the cache.
      observe: ({ cache_hit_ratio: observed }) => ({ observed: observed === null ? 'no block reads' : formatPercent(observed), passed: observed === null || observed >= limit }),
    });
  }
  for (const [table, maxScans] of Object.entries(thresholds.seq_scans ?? {})) {
    const qualified = table.includes('.') ? table : `public.${table}`;
    checks.push({
      name: `seq_scans ${qualified}`,
      limit: `≤ ${maxScans}`,
      observe: (db) => {
        // A misspelt table must not pass as "no seq scans".
        if (known && !known.has(qualified)) return { observed: 'no such table', passed: false };
        const observed = db.tables.find((t) => t.table === qualified)?.seq_scans ?? 0;
        return { observed: String(observed), passed: observed <= maxScans };
      },
    });
  }
  return checks;
}
