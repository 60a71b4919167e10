import { z } from 'zod';
import type { Problem } from './problems.js';
import type { YamlSource } from './yaml-source.js';

type Path = Array<string | number>;
type Issue = z.core.$ZodIssue;

/**
 * Turns schema issues into positioned problems with messages a person can act
 * on: unknown keys point at the key and suggest the closest known one; a
 * union (string or map) reports the branch matching the value's type.
 */
export function zodIssuesToProblems(issues: readonly Issue[], source: YamlSource, schema: z.ZodType): Problem[] {
  const problems: Problem[] = [];
  const visit = (issue: Issue, base: Path) => {
    const path: Path = [...base, ...(issue.path as Path)];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, path, source.value);
        for (const key of issue.keys) {
          const suggestion = closest(key, known);
          const hint = suggestion ? `; did you mean ${JSON.stringify(suggestion)}?` : known.length ? ` (expected one of: ${known.join(', ')})` : '';
          problems.push(source.problemAt([...path, key], `unknown key ${JSON.stringify(key)}${hint}`, true));
        }
        return;
      }
      case 'invalid_union': {
        const value = valueAt(source.value, path);
        const branches = issue.errors as Issue[][];
        const matching = branches.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
        if (matching.length > 0) {
          for (const i of matching[0]!) visit(i, path);
          return;
        }
        problems.push(source.problemAt(path, `expected ${describeUnion(branches)}, got ${typeName(value)}`));
        return;
      }
      case 'invalid_type': {
        const value = valueAt(source.value, path);
        const message = value === undefined ? `is required (${issue.expected})` : `expected ${issue.expected}, got ${typeName(value)}`;
        problems.push(source.problemAt(path, message, value === undefined));
        return;
      }
      case 'invalid_key': {
        const inner = (issue as { issues?: Issue[] }).issues ?? [];
        const reason = inner.map((i) => i.message.replace(/^Invalid input: /, '')).join('; ') || 'invalid key';
        problems.push(source.problemAt(path, reason, true));
        return;
      }
      case 'invalid_value':
        problems.push(source.problemAt(path, `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(source.value, path))}`));
        return;
      case 'too_small':
        if (issue.origin === 'array' && Number(issue.minimum) === 1) {
          problems.push(source.problemAt(path, issue.message.startsWith('Too small') ? 'must not be empty' : issue.message));
        } else if (issue.origin === 'string' && Number(issue.minimum) === 1) {
          problems.push(source.problemAt(path, 'must not be empty'));
        } else {
          problems.push(source.problemAt(path, issue.message.replace(/^Too small: /, '')));
        }
        return;
      default:
        problems.push(source.problemAt(path, issue.message.replace(/^Invalid input: /, '')));
    }
  };
  for (const issue of issues) visit(issue, []);
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** The value at `path` in a parsed document, or undefined. */
export function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function describeUnion(branches: Issue[][]): string {
  const expected = branches.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => (i as { expected: string }).expected));
  return [...new Set(expected)].join(' or ') || 'another type';
}

/** The keys the schema allows at `path` (walks objects, arrays, optionals, unions). */
function knownKeysAt(schema: z.ZodType, path: Path, rootValue: unknown): string[] {
  let current: z.ZodType | undefined = schema;
  for (let i = 0; i <= path.length && current; i++) {
    current = unwrap(current, valueAt(rootValue, path.slice(0, i)));
    if (i === path.length) break;
    const seg = path[i]!;
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(seg)];
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else current = undefined;
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType, value: unknown): z.ZodType {
  let s: z.ZodType = schema;
  for (let guard = 0; guard < 10; guard++) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (s instanceof z.ZodUnion) {
      const options = s.options as z.ZodType[];
      const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
      s = (isObject ? options.find((o) => unwrap(o, value) instanceof z.ZodObject) : undefined) ?? options[0]!;
    } else break;
  }
  return s;
}

/** The known key within edit distance 2 of `key`, if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}
