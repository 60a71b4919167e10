import { Document, isMap, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import type { ImportResult } from './import-sql.js';

/** What `dbtune import` says about the set beside the indexes: on stderr, and in the file's header. */
export function importNotes(result: ImportResult): string[] {
  const notes: string[] = [];
  const dropped = [...new Set(result.indexes.flatMap((i) => i.dropped))];
  if (dropped.length) {
    notes.push(`${dropped.join(' and ')} ${dropped.length === 1 ? 'is' : 'are'} not carried over: dbtune apply always builds with CREATE INDEX CONCURRENTLY and reads the catalog to see what exists (an invalid leftover is rebuilt, never taken as done).`);
  }
  if (result.indexes.some((i) => i.derivedName)) {
    notes.push('Indexes the SQL left unnamed get the name PostgreSQL would choose (table_column_idx, 63 bytes at most). PostgreSQL appends 1, 2… when a relation of that name exists already; only the other imported indexes were known here: check with `dbtune plan`.');
  }
  if (result.indexes.some((i) => !i.entry.table.includes('.'))) {
    notes.push('Tables named without a schema are taken to be in public (the index-set default), where the SQL would have followed the search_path.');
  }
  return notes;
}

export interface RenderOptions {
  /** `set:`; default: the first file's name without its extension. */
  set: string;
  description?: string;
}

/**
 * The index-set YAML: a header naming the source files and the notes, then
 * one entry per index in statement order, each under a comment with its
 * `file:line` (and whether its name was derived). Key columns are written in
 * flow style, as the README's examples are.
 */
export function renderImportedSet(result: ImportResult, options: RenderOptions): string {
  const value: Record<string, unknown> = { set: options.set };
  value.description = options.description ?? `Imported from ${result.files.join(', ')}`;
  value.indexes = result.indexes.map((i) => i.entry);
  const doc = new Document(value);
  const header = ['Index set written by `dbtune import` from:', ...result.files.map((f) => `  ${f}`)];
  const notes = importNotes(result);
  if (notes.length) header.push('', ...notes.flatMap((n) => wrap(n, 86)));
  header.push('', 'Next: dbtune plan <this file>, then dbtune apply and dbtune verify.');
  doc.commentBefore = header.map((line) => (line ? ` ${line}` : '')).join('\n');

  const indexes = doc.get('indexes') as YAMLSeq | undefined;
  if (isSeq(indexes)) {
    indexes.items.forEach((item, i) => {
      const imported = result.indexes[i]!;
      const where = `${imported.source.file}:${imported.source.line}`;
      if (isMap(item)) {
        (item as YAMLMap).commentBefore = ` ${where}${imported.derivedName ? ' (unnamed there: the name PostgreSQL would choose)' : ''}`;
        for (const key of ['columns', 'include', 'with']) {
          const node = item.get(key, true);
          if (isSeq(node) || isMap(node)) node.flow = true;
        }
      }
    });
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
