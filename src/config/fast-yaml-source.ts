import { constructFromEvents, EVENT_ID, getScalarValue, parseEvents, SCALAR_STYLE, type Event, type ScalarEvent } from 'js-yaml';
import { formatPath } from './problems.js';
import type { YamlSource } from './yaml-source.js';

/**
 * Index sets of a thousand indexes are read on every verify, and the `yaml`
 * package (which keeps a full document model for exact error positions)
 * spends about 250 ms on one; js-yaml's event parser reads it in about 60.
 * This source is for files that parse cleanly into plain data: anything
 * else (a syntax error, an anchor, an alias, a tag, a key such as `null`)
 * returns undefined, and the caller reads the file with yaml-source.ts,
 * whose messages and positions users see. Its positions are exact for collections (what a declaration's
 * `source` points at); a loader that finds a problem re-reads the file with
 * yaml-source.ts before reporting it (see load-index-sets.ts).
 */
export function fastYamlSource(file: string, text: string): YamlSource | undefined {
  let events: Event[];
  let documents: unknown[];
  try {
    events = parseEvents(text, { filename: file });
    documents = constructFromEvents(events, { source: text, maxAliases: 0 });
  } catch {
    return undefined;
  }
  if (documents.length > 1) return undefined;
  const root = positionTree(events, text);
  if (root === null) return undefined;
  const lineStarts = lineStartsOf(text);
  return {
    file,
    value: documents[0] ?? null,
    syntaxProblems: [],
    problemAt(path, message) {
      return { file, ...linePos(lineStarts, offsetOf(root, path)), path: formatPath(path), message };
    },
    positionOf(path) {
      return linePos(lineStarts, offsetOf(root, path));
    },
  };
}

/** Where a node starts; a collection also holds its children (a mapping's by key). */
type PositionNode = { start: number; items?: PositionNode[]; entries?: Map<string, PositionNode> };

/**
 * The start of every node, from the event stream. Null when the document has
 * an anchor or a tag: their positions are where yaml-source.ts and js-yaml
 * disagree, and neither appears in index sets as people write them.
 */
function positionTree(events: readonly Event[], text: string): PositionNode | null {
  const stack: Array<{ node: PositionNode; key: string | undefined; expectingKey: boolean }> = [];
  let root: PositionNode | undefined;
  const attach = (node: PositionNode): boolean => {
    const top = stack[stack.length - 1];
    if (!top) {
      root = node;
      return true;
    }
    if (top.node.items) {
      top.node.items.push(node);
      return true;
    }
    if (top.expectingKey) return false; // a collection as a key: not plain data
    top.node.entries!.set(top.key!, node);
    top.expectingKey = true;
    return true;
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        if (event.anchorStart !== -1 || event.tagStart !== -1) return null;
        const node: PositionNode = event.type === EVENT_ID.SEQUENCE ? { start: event.start, items: [] } : { start: event.start, entries: new Map() };
        if (!attach(node)) return null;
        stack.push({ node, key: undefined, expectingKey: event.type === EVENT_ID.MAPPING });
        break;
      }
      case EVENT_ID.SCALAR: {
        if (event.anchorStart !== -1 || event.tagStart !== -1) return null;
        const top = stack[stack.length - 1];
        if (top?.node.entries && top.expectingKey) {
          top.key = keyOf(event, text);
          if (top.key === undefined) return null;
          top.expectingKey = false;
        } else if (!attach({ start: scalarStart(event) })) {
          return null;
        }
        break;
      }
      case EVENT_ID.ALIAS:
        return null;
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return root ?? { start: 0 };
}

/**
 * A mapping key as the constructed object has it. Plain keys as people write
 * them are their own text, quoted ones their decoded text; a plain key that
 * resolves to something else (`null`, `1`, `true`) is undefined: the two
 * parsers make different property names of some of them.
 */
function keyOf(event: ScalarEvent, text: string): string | undefined {
  if (event.style !== SCALAR_STYLE.PLAIN) return getScalarValue(text, event);
  const raw = text.slice(event.valueStart, event.valueEnd);
  return /^[A-Za-z_][\w./-]*$/.test(raw) && !/^(null|Null|NULL|true|True|TRUE|false|False|FALSE)$/.test(raw) ? raw : undefined;
}

/** A quoted scalar starts at its quote; an empty one has no position of its own (-1): its parent's is used. */
function scalarStart(event: ScalarEvent): number {
  if (event.valueStart < 0) return -1;
  return event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED ? event.valueStart - 1 : event.valueStart;
}

/** Offset of the deepest node on `path` that exists, as yaml-source.ts finds it. */
function offsetOf(root: PositionNode, path: ReadonlyArray<string | number>): number {
  let node = root;
  let offset = Math.max(0, root.start);
  for (const seg of path) {
    const next = node.entries ? node.entries.get(String(seg)) : node.items && typeof seg === 'number' ? node.items[seg] : undefined;
    if (!next) return offset;
    node = next;
    if (node.start >= 0) offset = node.start;
  }
  return offset;
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line and column of an offset, as the `yaml` package's LineCounter gives them. */
function linePos(lineStarts: readonly number[], offset: number): { line: number; col: number } {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, col: offset - lineStarts[low]! + 1 };
}
