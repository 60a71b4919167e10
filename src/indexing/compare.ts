import type { LiveIndex, LiveIndexColumn } from './live-catalog.js';
import type { IndexDeclaration } from '../model/declaration.js';

/** One field where the live index differs from its declaration. */
export interface Difference {
  /** e.g. `using`, `unique`, `columns[1].order`, `include`, `where`, `with`. */
  field: string;
  declared: string;
  live: string;
}

/**
 * Compares the declared index, as PostgreSQL normalised it (a shadow build),
 * with the live one, field by field. Both sides come from the same catalog
 * query, so expressions and predicates compare in PostgreSQL's deparsed form.
 */
export function compareIndexes(declaration: IndexDeclaration, declared: LiveIndex, live: LiveIndex): Difference[] {
  const differences: Difference[] = [];
  const push = (field: string, d: string, l: string) => {
    if (d !== l) differences.push({ field, declared: d, live: l });
  };
  push('using', declared.method ?? '?', live.method ?? '?');
  push('unique', String(declared.unique), String(live.unique));
  push('nulls_not_distinct', String(declared.nullsNotDistinct), String(live.nullsNotDistinct));

  if (declared.keyColumns.length !== live.keyColumns.length) {
    push('columns', declared.keyColumns.map(describeKeyColumn).join(', '), live.keyColumns.map(describeKeyColumn).join(', '));
  } else {
    declared.keyColumns.forEach((d, i) => {
      const l = live.keyColumns[i]!;
      const field = `columns[${i}]`;
      if (d.definition !== l.definition) {
        push(field, d.definition, l.definition);
        return;
      }
      push(`${field}.order`, d.desc ? 'desc' : 'asc', l.desc ? 'desc' : 'asc');
      // NULLS placement counts when it differs from what the order implies (DESC ⇒ NULLS FIRST),
      // so a flipped order is one difference, not two.
      if (d.desc === l.desc || Boolean(d.nullsFirst) !== Boolean(d.desc) || Boolean(l.nullsFirst) !== Boolean(l.desc)) {
        push(`${field}.nulls`, d.nullsFirst ? 'first' : 'last', l.nullsFirst ? 'first' : 'last');
      }
      push(`${field}.opclass`, d.opclass ?? '', l.opclass ?? '');
      push(`${field}.collate`, d.collation ?? '(none)', l.collation ?? '(none)');
    });
  }
  push('include', declared.includeColumns.map((c) => c.definition).join(', ') || '(none)', live.includeColumns.map((c) => c.definition).join(', ') || '(none)');
  push('where', declared.predicate ?? '(none)', live.predicate ?? '(none)');
  push('with', declared.storage.join(', ') || '(none)', live.storage.join(', ') || '(none)');
  // An undeclared tablespace means "wherever the database puts it".
  if (declaration.tablespace !== undefined) push('tablespace', declaration.tablespace, live.tablespace ?? '(unknown)');
  return differences;
}

/** `created_at DESC NULLS LAST text_pattern_ops COLLATE "C"`, leaving out what is default. */
export function describeKeyColumn(column: LiveIndexColumn): string {
  let text = column.isExpression ? `(${column.definition})` : column.definition;
  if (column.collation && column.collation !== 'default') text += ` COLLATE ${column.collation}`;
  if (column.opclass && column.opclassDefault === false) text += ` ${column.opclass}`;
  if (column.desc) text += ' DESC';
  const defaultNullsFirst = Boolean(column.desc);
  if (column.nullsFirst !== undefined && column.nullsFirst !== defaultNullsFirst) text += column.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
  return text;
}

export function formatDifference(d: Difference): string {
  return `${d.field}: declared ${d.declared}, live ${d.live}`;
}
