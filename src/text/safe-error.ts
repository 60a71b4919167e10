import { stripControl } from './safe-text.js';

/** PostgreSQL's own error fields, kept as they came (node-postgres names). */
export interface PgErrorFields {
  /** SQLSTATE, e.g. `23505` for unique_violation. */
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

/**
 * PostgreSQL's error fields as dbtune reports them. The `detail` of an
 * integrity error (SQLSTATE class 23) quotes the row: "Key (email)=(alice@…)
 * already exists.", "Failing row contains (42, alice@…, …)." — an email, a
 * token or a password hash in a CI log or a public job summary. The key's
 * columns are kept (they say which index or constraint), its values are not.
 * Every field is stripped of control characters.
 */
export function safeErrorFields(fields: PgErrorFields): PgErrorFields {
  // Data exceptions (class 22) quote the offending value in the message: `invalid input syntax for type integer: "alice@…"`.
  const message = fields.code?.startsWith('22') ? fields.message.replace(/: "(?:[^"]|"")*"$/s, ': "(…)"') : fields.message;
  const safe: PgErrorFields = { message: stripControl(message) };
  if (fields.code !== undefined) safe.code = fields.code;
  if (fields.detail !== undefined) safe.detail = stripControl(fields.code?.startsWith('23') ? redactRowValues(fields.detail) : fields.detail);
  if (fields.hint !== undefined) safe.hint = stripControl(fields.hint);
  return safe;
}

const VALUES = '(…)';

/**
 * An integrity error's detail without the row's values. The shapes are
 * PostgreSQL's (nbtree, ri_triggers, execMain, execPartition, exclusion
 * constraints); a class-23 detail of any other shape is withheld whole.
 */
export function redactRowValues(detail: string): string {
  // "Key (cols)=(values) already exists." / "is duplicated." / FK "is not present in table …" / "is still referenced from table …".
  // The columns end at the first ")=(" (PostgreSQL writes them, values come after); the suffix is matched from the end.
  const key = /^Key \((.*?)\)=\(/s.exec(detail);
  if (key) {
    const columns = key[1]!;
    const conflict = /\) conflicts with existing key \((.*?)\)=\(/s.exec(detail.slice(key[0].length));
    if (conflict) return `Key (${columns})=${VALUES} conflicts with existing key (${conflict[1]})=${VALUES}.`;
    const suffix = /\) (already exists\.|is duplicated\.|is not present in table "(?:[^"]|"")*"\.|is not present in table [^\s"]+\.|is still referenced from table "(?:[^"]|"")*"\.|is still referenced from table [^\s"]+\.)$/s.exec(detail);
    return `Key (${columns})=${VALUES}${suffix ? ` ${suffix[1]}` : ''}`;
  }
  if (/^Failing row contains \(/.test(detail)) return `Failing row contains ${VALUES}.`;
  const partition = /^Partition key of the failing row contains \((.*?)\) = \(/s.exec(detail);
  if (partition) return `Partition key of the failing row contains (${partition[1]}) = ${VALUES}.`;
  return '(detail withheld: it may quote row values)';
}
