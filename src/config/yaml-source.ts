import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
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
  /** Where the node at `path` starts (a declaration's `source`). */
  positionOf(path: ReadonlyArray<string | number>): { line: number; col: number };
}

/**
 * Most nodes that aliases may expand to (the `yaml` package's `maxAliasCount`,
 * its default made explicit): a "billion laughs" file, anchors of aliases of
 * anchors, would otherwise grow into gigabytes in memory.
 */
export const MAX_ALIAS_COUNT = 100;

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
  let value: unknown;
  if (!syntaxProblems.length) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // toJS throws a ReferenceError for too many aliases (and for an alias without its anchor): bad input, not a crash.
      if (!(error instanceof ReferenceError)) throw error;
      syntaxProblems.push({ file, ...position(firstAliasOffset(doc)), path: '', message: aliasMessage(error) });
    }
  }

  return {
    file,
    value,
    syntaxProblems,
    problemAt(path, message, atKey = false) {
      const offset = offsetOf(doc, path, atKey);
      return { file, ...position(offset), path: formatPath(path), message };
    },
    positionOf(path) {
      return position(offsetOf(doc, path, false));
    },
  };
}

function aliasMessage(error: ReferenceError): string {
  return /Excessive alias count/.test(error.message)
    ? `aliases that expand to more than ${MAX_ALIAS_COUNT} nodes (a YAML "alias bomb"): write the values out instead of nesting anchors`
    : firstLine(error.message);
}

/** Where the first alias (`*name`) of the document starts: where the expansion begins. */
function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
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
