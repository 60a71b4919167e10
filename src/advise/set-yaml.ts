import { displayIdent, displayQualified } from '../sql/identifiers.js';
import type { Advice, AdvisedIndex } from './advise.js';
import { keyText } from './candidates.js';

/**
 * The advised indexes as an index-set file (PRODUCT.md's format), a comment above each index
 * saying why it is there. Strings are written as JSON strings, which YAML reads as they are.
 */
export function renderIndexSet(advice: Advice, setName: string): string {
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
    if (ix.where) lines.push(`    where: ${q(ix.where)}`);
  }
  return `${lines.join('\n')}\n`;
}

function why(ix: AdvisedIndex, advice: Advice): string[] {
  const out = [`${ix.name}: saves ${pct(ix.workloadShare)} of the workload's cost; about ${fmtBytes(ix.sizeBytes)}; table writes since stats reset: ${ix.tableWrites ?? 'unknown'}`];
  for (const s of ix.statements) {
    const st = advice.statements.find((x) => x.id === s.id);
    const text = (st?.query ?? '').replace(/\s+/g, ' ').slice(0, 100);
    out.push(`  #${s.id} (${st?.origin ?? ''}, ${s.calls} calls) cost ${fmtCost(s.costBefore)} → ${fmtCost(s.costAfter)}: ${text}`);
  }
  return out.map((l) => l.replace(/[\r\n]/g, ' '));
}

export function fmtCost(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
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
