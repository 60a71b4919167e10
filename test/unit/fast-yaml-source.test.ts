import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fastYamlSource } from '../../src/config/fast-yaml-source.js';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import { InputProblemsError } from '../../src/config/problems.js';
import { parseYamlSource } from '../../src/config/yaml-source.js';

/** Every path to a mapping or sequence in a plain value (what a declaration's `source` points at). */
function collectionPaths(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => collectionPaths(v, [...at, i]))];
  if (value && typeof value === 'object') return [at, ...Object.entries(value).flatMap(([k, v]) => collectionPaths(v, [...at, k]))];
  return [];
}

/** The fast reading must give the exact reading's value, and its positions for every collection. */
function expectSameAsExact(name: string, text: string): void {
  const fast = fastYamlSource(name, text);
  const exact = parseYamlSource(name, text);
  expect(exact.syntaxProblems).toEqual([]);
  expect(fast, `${name}: the fast reading took it`).toBeDefined();
  expect(fast!.value).toEqual(exact.value);
  const paths = collectionPaths(exact.value);
  expect(paths.length).toBeGreaterThan(0);
  for (const p of paths) {
    const { line, col } = exact.problemAt(p, '');
    expect({ path: p, ...pick(fast!.problemAt(p, '')) }).toEqual({ path: p, line, col });
  }
}

function pick(problem: { line: number; col: number }) {
  return { line: problem.line, col: problem.col };
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

async function withTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-fast-yaml-'));
  try {
    await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('fastYamlSource', () => {
  const shipped = ['indexes', 'scenarios'].flatMap((dir) =>
    readdirSync(path.join(repoRoot, dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(dir, f)),
  );

  it.each(shipped)('reads %s as the yaml package does (values and positions)', (file) => {
    expectSameAsExact(file, readFileSync(path.join(repoRoot, file), 'utf8'));
  });

  it.each([
    ['block and flow entries, comments, quoted keys and values', [
      '# leading comment',
      'set: "demo set"   # trailing comment',
      "description: 'it''s quoted'",
      'indexes:',
      '  # a comment before an item',
      '  - name: a_idx',
      '    table: public.orders',
      '    columns: [user_id, { name: created_at, order: desc }]',
      '  - { name: b_idx, table: "Orders", columns: [status], where: "status <> \'x\'" }',
      '  -',
      '    name: c_idx',
      '    table: t',
      '    columns:',
      '      - a',
      '      - { expression: lower(b) }',
      '  - "name": d_idx',
      '    \'table\': t',
      '    columns: [a]',
      'checks:',
      '  - name: first',
      '    query: |',
      '      SELECT *',
      '        FROM t WHERE a = $1',
      '    params: [1, 2.5, true, null, ~, 0x1F, "7"]',
      '    expect: { uses_index: a_idx }',
      '  - name: second',
      '    query: >-',
      '      SELECT 1',
      '    expect:',
      '      max_cost: 100',
      '',
    ].join('\n')],
    ['CRLF line ends', 'set: s\r\nindexes:\r\n  - name: a\r\n    table: t\r\n    columns: [a]\r\n  - { name: b, table: t, columns: [b] }\r\n'],
    ['a byte-order mark', '\uFEFFset: s\nindexes:\n  - name: a\n    table: t\n    columns: [a]\n'],
    ['indentless sequences and nested empties', 'set: s\nindexes:\n- name: a\n  table: t\n  columns:\n  - a\n  include: []\n  with: {}\n'],
    ['numbers and booleans as values, quoted and dotted keys', 'set: s\nv: [1, -2, 0o17, 1.5e3, .inf, true, False, null, ~, "1"]\n"quoted key": { x: [1, { y: 2 }] }\nk-e_y.z/w: [[], [[]]]\n\'null\': { "": [] }\n'],
    ['unicode', 'set: ünïcødé\nindexes:\n  - { name: "naïve_idx", table: "tåble", columns: [ćol] }\n'],
  ])('reads %s as the yaml package does', (_name, text) => {
    expectSameAsExact(_name, text);
  });

  it.each([
    ['a syntax error', 'set: [unclosed\n'],
    ['a duplicate key', 'set: a\nset: b\n'],
    ['an anchor and its alias', 'a: &x [1]\nb: *x\n'],
    ['an anchor alone', 'a: &x [1]\n'],
    ['a tag', 'a: !!str 1\n'],
    ...['null', '~', '1', 'true', 'a b'].map((key) => [`the plain key ${key}`, `${key}: [x]\n`]),
    ['two documents', 'a: 1\n---\nb: 2\n'],
  ])('leaves %s to the exact reading', (_name, text) => {
    expect(fastYamlSource('f.yaml', text)).toBeUndefined();
  });

  it('an index set with a problem is reported at the exact reading’s positions', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'set.yaml');
      const text = 'set: s\nindexes:\n  - name: ok_idx\n    table: t\n    columns: [a]\n  - name: bad_idx\n    table: t\n    columns: [a]\n    colour: red\n';
      await writeFile(file, text);
      const error = await loadIndexSets([file]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputProblemsError);
      expect((error as InputProblemsError).problems).toEqual([{ file, line: 9, col: 5, path: 'indexes[1].colour', message: expect.stringContaining('unknown key "colour"') }]);
    });
  });

  it('declarations read the fast way point at their entries', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'set.yaml');
      await writeFile(file, 'set: s\nindexes:\n  - name: a\n    table: t\n    columns: [a]\n\n  - { name: b, table: t, columns: [b] }\n');
      const [set] = await loadIndexSets([file]);
      expect(set!.indexes.map((d) => d.source)).toEqual([
        { file, line: 3, col: 5 },
        { file, line: 7, col: 5 },
      ]);
    });
  });
});
