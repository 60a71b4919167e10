#!/usr/bin/env node
/**
 * Prints the import graph between src/'s top-level folders (a file directly in
 * src/ counts as a node of its own, named after the file) and exits 1 when the
 * tree breaks one of the structure rules below: a cycle between folders, a
 * forbidden arrow, a package imported outside the one file that owns it, SQL
 * text in src/commands/, a src/ file over 350 lines. Plain Node, no
 * dependencies: `npm run check:structure`.
 *
 * Imports read: static `import … from '…'`, `import '…'`, `export … from '…'`
 * and dynamic `import('…')`, type-only ones included (a type import is still an
 * arrow between two folders).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const MAX_LINES = 350;

/**
 * Files allowed over MAX_LINES for now, each with the reason; printed on every
 * run so the exception stays visible. Remove an entry once its file is split.
 */
const LENGTH_WAIVERS = {};

/** The product parts and the layers under them; none of them may reach up to the CLI. */
const CORE = ['indexing', 'explain', 'load', 'observe', 'advise', 'import', 'model', 'sql', 'db', 'report', 'config', 'scenario', 'time'];

/** Each rule: a forbidden arrow `from → to`, and why. */
const FORBIDDEN = [
  { from: 'load', to: 'indexing', why: 'load and indexing never import each other' },
  { from: 'indexing', to: 'load', why: 'load and indexing never import each other' },
  { from: 'report', to: 'db', why: 'report never imports db' },
  { from: 'report', to: 'cli', why: 'report never imports cli' },
  { from: 'config', to: 'db', why: 'config never imports db' },
  ...CORE.flatMap((from) => [
    { from, to: 'cli', why: 'no core folder imports cli' },
    { from, to: 'commands', why: 'no core folder imports commands' },
  ]),
];

/** Packages only one file may import: the rest depend on the small interface that file owns. */
const SOLE_IMPORTERS = { autocannon: 'src/load/engine/autocannon/engine.ts' };

const SQL_START = /^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH)\b/;

function listTs(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The node a file belongs to: its top-level folder under src/, or the file's own name. */
function nodeOf(file) {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

/**
 * Splits source text into code (comments blanked) and the string literals it
 * holds. A small scanner, not a parser: enough for this codebase's imports and
 * SQL literals (template literals' `${…}` parts are kept inside the literal).
 */
function scan(text) {
  let code = '';
  const strings = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      code += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++;
        else if (c !== '`' && text[j] === '\n') break;
        j++;
      }
      const literal = text.slice(i + 1, j);
      strings.push(literal);
      code += c + literal + c;
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  return { code, strings };
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function importsOf(code) {
  const specifiers = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) specifiers.push(match[1]);
  }
  return specifiers;
}

function resolveImport(file, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
  return target.startsWith(SRC + sep) ? target : undefined;
}

/** Cycles among nodes: every strongly connected component with more than one node (Tarjan). */
function cyclesOf(nodes, edges) {
  let index = 0;
  const stack = [];
  const onStack = new Set();
  const indexOf = new Map();
  const low = new Map();
  const components = [];
  const visit = (v) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), indexOf.get(w)));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of nodes) if (!indexOf.has(v)) visit(v);
  return components;
}

const files = listTs(SRC).sort();
/** from → to → the files and specifiers behind the arrow */
const edges = new Map();
const problems = [];
const waived = [];
const nodes = new Set();

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(ROOT, file).split(sep).join('/');
  const from = nodeOf(file);
  nodes.add(from);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) {
    if (LENGTH_WAIVERS[rel]) waived.push(`${rel}: ${lines} lines, waived: ${LENGTH_WAIVERS[rel]}`);
    else problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES} in src/)`);
  }
  const { code, strings } = scan(text);
  for (const specifier of importsOf(code)) {
    const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
    if (SOLE_IMPORTERS[pkg] && SOLE_IMPORTERS[pkg] !== rel) problems.push(`${rel} imports ${specifier}: only ${SOLE_IMPORTERS[pkg]} imports ${pkg}`);
    const target = resolveImport(file, specifier);
    if (!target) continue;
    const to = nodeOf(target);
    nodes.add(to);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const uses = edges.get(from);
    if (!uses.has(to)) uses.set(to, []);
    uses.get(to).push(`${rel} → ${specifier}`);
  }
  if (from === 'commands') {
    for (const literal of strings) {
      if (SQL_START.test(literal)) problems.push(`${rel}: SQL text in src/commands/ (${JSON.stringify(literal.trim().slice(0, 40))}…)`);
    }
  }
}

console.log('src/ folder import graph (from → to: imports)');
for (const from of [...edges.keys()].sort()) {
  const uses = edges.get(from);
  const arrows = [...uses.keys()].sort().map((to) => `${to} ${uses.get(to).length}`);
  console.log(`  ${from} → ${arrows.join(', ')}`);
}
const leaves = [...nodes].filter((n) => !edges.has(n)).sort();
if (leaves.length) console.log(`  (import no other folder: ${leaves.join(', ')})`);

for (const component of cyclesOf([...nodes].sort(), edges)) {
  const inside = new Set(component);
  const arrows = component.flatMap((from) =>
    [...(edges.get(from) ?? new Map()).entries()].filter(([to]) => inside.has(to)).flatMap(([to, uses]) => uses.map((use) => `    ${from} → ${to}: ${use}`)),
  );
  problems.push(`cycle between ${component.join(', ')}:\n${arrows.join('\n')}`);
}

for (const rule of FORBIDDEN) {
  const uses = edges.get(rule.from)?.get(rule.to);
  if (uses) problems.push(`${rule.why}: ${rule.from} → ${rule.to}:\n${uses.map((use) => `    ${use}`).join('\n')}`);
}

for (const line of waived) console.log(`\nwarning: ${line}`);

if (problems.length) {
  console.log(`\n${problems.length} structure problem${problems.length === 1 ? '' : 's'}:`);
  for (const problem of problems) console.log(`  ${problem}`);
  process.exitCode = 1;
} else {
  const but = waived.length ? ` but the waived one${waived.length === 1 ? '' : 's'} above` : '';
  console.log(`\nno cycles, no forbidden imports, no SQL in commands, no file over ${MAX_LINES} lines${but}`);
}
