import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { formatPath, type Problem } from './problems.js';

/** A parsed YAML file that can say where any path in it stands. */
export interface YamlSource {
  file: string;
  /** Plain JS value of the document (undefined when it has syntax errors). */
  value: unknown;
  /** Syntax problems; when non-empty, `value` must not be used. */
  syntaxProblems: Problem[];
  /** A problem positioned at `path`; `atKey` points at the key rather than its value. */
  problemAt(path: ReadonlyArray<string | number>, message: string, atKey?: boolean): Problem;
}

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): { line: number; col: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  const syntaxProblems: Problem[] = doc.errors.map((error) => ({
    file,
    ...position(error.pos[0]),
    path: '',
    message: firstLine(error.message),
  }));

  return {
    file,
    value: syntaxProblems.length ? undefined : doc.toJS({ maxAliasCount: 100 }),
    syntaxProblems,
    problemAt(path, message, atKey = false) {
      const offset = offsetOf(doc, path, atKey);
      return { file, ...position(offset), path: formatPath(path), message };
    },
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Offset of the deepest node on `path` that exists (the parent when a key is missing). */
function offsetOf(doc: Document, path: ReadonlyArray<string | number>, atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(seg));
      if (!pair) return offset;
      if (last && atKey) return rangeStart(pair.key) ?? offset;
      node = pair.value;
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
