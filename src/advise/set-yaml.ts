import { DbtuneError } from '../errors.js';
import { displayIdent, displayQualified } from '../sql/identifiers.js';
import type { Advice, AdvisedIndex } from './advise.js';
import { keyText } from './candidates.js';
import { withThousands } from '../text/thousands.js';

/**
 * The advised indexes as an index-set file (PRODUCT.md's format), a comment above each index
 * saying why it is there. Strings are written as JSON strings, which YAML reads as they are.
 */
export function renderIndexSet(advice: Advice, setName: string): string {
  // dbtune refuses an index set without an index: never write one it cannot read back.
  if (!advice.indexes.length) throw new DbtuneError('INTERNAL', 'no index was advised: there is no index set to write');
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `# Written by dbtune advise. Costs are PostgreSQL's generic-plan estimates with ${advice.scoring.mode === 'hypopg' ? 'hypothetical (HypoPG)' : 'really built (--build)'} indexes;`,
    `# measure the real effect with dbtune explain / loadtest after dbtune apply.`,
    `set: ${q(setName)}`,
    `description: ${q(`${advice.indexes.length} index${advice.indexes.length === 1 ? '' : 'es'} advised for ${advice.statements.length} statements; workload cost ${fmtCost(advice.workloadCost.before)} → ${fmtCost(advice.workloadCost.after)}`)}`,
    'indexes:',
  ];
  for (const ix of advice.indexes) {
    for (const line of why(ix, advice)) lines.push(`  # ${line}`);
    lines.push(`  - name: ${q(ix.name)}`);
    lines.push(`    table: ${q(displayQualified(ix.table))}`);
    const columns = ix.keys.map((k) => (k.term.kind === 'column' ? q(`${displayIdent(k.term.column)}${k.order === 'desc' ? ' desc' : ''}`) : `{ expression: ${q(k.term.expression)}${k.order === 'desc' ? ', order: desc' : ''} }`));
    lines.push(`    columns: [${columns.join(', ')}]`);
    if (ix.include) lines.push(`    include: [${ix.include.map((c) => q(displayIdent(c))).join(', ')}]`);
    if (ix.where) lines.push(`    where: ${q(ix.where)}`);
  }
  lines.push(...renderChecks(advice, setName));
  return `${lines.join('\n')}\n`;
}

/** One EXPLAIN check per improved statement (`dbtune verify` runs them); a statement without one says why in a comment. */
function renderChecks(advice: Advice, setName: string): string[] {
  const q = (s: string) => JSON.stringify(s);
  const written = advice.checks.filter((c) => !c.skipped);
  const lines: string[] = [];
  if (written.length) lines.push('# EXPLAIN checks that prove the indexes serve their statements, with parameters from pg_stats: dbtune verify runs them.', 'checks:');
  for (const c of advice.checks) {
    if (c.skipped) {
      lines.push(oneLine(`# no check for #${c.statement}: ${c.skipped}`));
      continue;
    }
    if (c.sources.length) lines.push(oneLine(`  # #${c.statement}: ${c.sources.join('; ')}`));
    lines.push(`  - name: ${q(oneLine(`${setName} #${c.statement}: ${shorten(c.query, 70)}`))}`);
    lines.push(`    query: ${q(c.query)}`);
    if (c.params.length) lines.push(`    params: [${c.params.map((p) => JSON.stringify(p)).join(', ')}]`);
    if (c.generic) lines.push('    generic: true');
    const uses = c.usesIndex.length === 1 ? q(c.usesIndex[0]!) : `[${c.usesIndex.map(q).join(', ')}]`;
    lines.push(`    expect: { uses_index: ${uses} }`);
  }
  return lines;
}

const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ');
const shorten = (s: string, n: number) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

/** Why an index is there: what it saves, what it costs, and per statement it serves its calls and cost before → after. */
function why(ix: AdvisedIndex, advice: Advice): string[] {
  const out = [`${ix.name}: saves ${pct(ix.workloadShare)} of the workload's cost; about ${fmtBytes(ix.sizeBytes)}; table writes since stats reset: ${ix.tableWrites ?? 'unknown'}`];
  if (ix.include) out.push(`  INCLUDE (${ix.include.join(', ')}): the other columns its statements read, for an index-only scan`);
  if (ix.where) out.push(`  partial: only the rows its statements ask for (WHERE ${ix.where})`);
  for (const s of ix.statements) {
    const st = advice.statements.find((x) => x.id === s.id);
    const text = shorten(st?.query ?? '', 100);
    const time = st?.totalMs !== undefined ? `, ${fmtMs(st.totalMs)} in total` : '';
    out.push(`  #${s.id} (${st?.origin ?? ''}, ${s.calls} calls${time}) cost ${fmtCost(s.costBefore)} → ${fmtCost(s.costAfter)}: ${text}`);
  }
  return out.map(oneLine);
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${withThousands(ms)} ms`;
}

export function fmtCost(n: number): string {
  return n >= 100 ? withThousands(n) : n.toFixed(2);
}

export function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} kB`;
  return `${n} B`;
}

export const describeKeys = (ix: Pick<AdvisedIndex, 'keys'>) => ix.keys.map(keyText).join(', ');
