import { stripControl } from '../text/safe-text.js';
import { loadPgParser } from './pg-parser.js';
import { redactLiterals } from './redact-literals.js';

/**
 * A query text another session ran (pg_stat_activity, pg_stat_statements),
 * made fit for a report: literals replaced by `$n` — by PostgreSQL's parser,
 * or lexically when the text does not parse (cut off at
 * track_activity_query_size, `<insufficient privilege>`) — and control
 * characters stripped. The raw text is never returned.
 */
export async function reportableQuery(text: string): Promise<string> {
  const parser = await loadPgParser();
  let normalised: string;
  try {
    normalised = parser.normalize(text);
  } catch {
    normalised = text;
  }
  // The parser's normaliser leaves constants of many utility statements as written
  // (CREATE SERVER … OPTIONS (password '…'), ALTER ROLE … SET, COMMENT ON, CREATE TABLE AS…):
  // the lexical pass runs after it every time, and also drops comments.
  return stripControl(redactLiterals(normalised, { dropComments: true }));
}
