import { MAX_IDENTIFIER_BYTES } from '../sql/identifiers.js';

/** `<name>_dbtune_new`, shortened so PostgreSQL does not truncate it. */
export function rebuildName(name: string): string {
  const suffix = '_dbtune_new';
  // Shorten by whole characters (code points), never half a surrogate pair.
  const chars = [...name];
  while (Buffer.byteLength(chars.join('') + suffix) > MAX_IDENTIFIER_BYTES) chars.pop();
  return chars.join('') + suffix;
}
