/** `line:col` of a UTF-16 offset in a text: both 1-based, the column in characters (code points), as PostgreSQL counts. */
export function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 1;
  for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) line++;
  return { line, col: [...before.slice(lineStart)].length + 1 };
}
