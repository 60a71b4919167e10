import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import { InputProblemsError, type Problem } from '../../src/config/problems.js';
import type { IndexDeclaration } from '../../src/model/declaration.js';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dbtune-load-index-sets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function yamlFile(text: string): Promise<string> {
  const file = path.join(dir, `set-${++counter}.yaml`);
  await writeFile(file, text);
  return file;
}

/** The problems of the one InputProblemsError that loading must throw. */
async function problemsOf(files: string[]): Promise<readonly Problem[]> {
  const error: unknown = await loadIndexSets(files).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputProblemsError);
  const problems = error as InputProblemsError;
  expect(problems.code).toBe('INPUT_INVALID');
  return problems.problems;
}

/** One index under `indexes:`, with the lines given (indented as map entries). */
const oneIndex = (...lines: string[]) => ['set: s', 'indexes:', '  - name: a', '    table: t', ...lines.map((l) => `    ${l}`), ''].join('\n');

describe('loadIndexSets: problems are positioned', () => {
  it.each([
    {
      what: 'unknown key, near miss',
      text: oneIndex('columns: [x]', 'uniqe: true'),
      expected: { line: 6, col: 5, path: 'indexes[0].uniqe' },
      mentions: '"unique"',
    },
    {
      what: 'unknown key, nothing close',
      text: oneIndex('columns: [x]', 'bogus: 1'),
      expected: { line: 6, col: 5, path: 'indexes[0].bogus' },
    },
    {
      what: 'wrong type',
      text: oneIndex('columns: [x]', 'unique: "yes"'),
      expected: { line: 6, col: 13, path: 'indexes[0].unique' },
    },
    {
      what: 'columns is not a list',
      text: oneIndex('columns: x'),
      expected: { line: 5, col: 14, path: 'indexes[0].columns' },
    },
    {
      what: 'empty columns list',
      text: oneIndex('columns: []'),
      expected: { line: 5, col: 14, path: 'indexes[0].columns' },
    },
    {
      what: 'bad order word inside a columns string',
      text: oneIndex('columns: [x, "y dsc"]'),
      expected: { line: 5, col: 18, path: 'indexes[0].columns[1]' },
      mentions: 'dsc',
    },
    {
      what: 'a function call written as a column',
      text: oneIndex('columns: ["lower(handle)"]'),
      expected: { line: 5, col: 15, path: 'indexes[0].columns[0]' },
      mentions: 'expression',
    },
    {
      what: 'unique with using: gin',
      text: oneIndex('using: gin', 'unique: true', 'columns: [x]'),
      expected: { line: 6, col: 13, path: 'indexes[0].unique' },
    },
    {
      what: 'nulls_not_distinct without unique',
      text: oneIndex('nulls_not_distinct: true', 'columns: [x]'),
      expected: { line: 5, col: 25, path: 'indexes[0].nulls_not_distinct' },
    },
    {
      what: 'where with ; DROP TABLE',
      text: oneIndex('columns: [x]', 'where: "status = 1; DROP TABLE t"'),
      expected: { line: 6, col: 12, path: 'indexes[0].where' },
    },
    {
      what: 'where that closes its parentheses early',
      text: oneIndex('columns: [x]', 'where: "true); DROP TABLE x; --"'),
      expected: { line: 6, col: 12, path: 'indexes[0].where' },
    },
    {
      what: 'expression with a comment',
      text: oneIndex('columns: [{ expression: "lower(a) -- x" }]'),
      expected: { line: 5, col: 29, path: 'indexes[0].columns[0].expression' },
    },
    {
      what: 'table a.b.c',
      text: ['set: s', 'indexes:', '  - name: a', '    table: a.b.c', '    columns: [x]', ''].join('\n'),
      expected: { line: 4, col: 12, path: 'indexes[0].table' },
    },
    {
      what: 'YAML syntax error (tab indentation)',
      text: 'set: s\nindexes:\n\t- name: a\n',
      expected: { line: 3, col: 1, path: '' },
    },
  ])('$what', async ({ text, expected, mentions }) => {
    const file = await yamlFile(text);
    const problems = await problemsOf([file]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file, ...expected });
    if (mentions) expect(problems[0]!.message).toContain(mentions);
  });

  it('a missing file is a problem at line 0', async () => {
    const file = path.join(dir, 'does-not-exist.yaml');
    expect(await problemsOf([file])).toEqual([expect.objectContaining({ file, line: 0, col: 0, path: '' })]);
  });

  it('a directory is a problem at line 0', async () => {
    expect(await problemsOf([dir])).toEqual([expect.objectContaining({ file: dir, line: 0, col: 0, path: '' })]);
  });

  it('no files at all is a problem', async () => {
    expect(await problemsOf([])).toHaveLength(1);
  });

  it('reports a duplicate index name across files at the second, naming the first', async () => {
    const first = await yamlFile('set: a\nindexes:\n  - name: idx_x\n    table: t\n    columns: [x]\n');
    const second = await yamlFile(
      'set: b\nindexes:\n  - name: other\n    table: u\n    columns: [x]\n  - name: IDX_X\n    table: public.t2\n    columns: [y]\n',
    );
    const problems = await problemsOf([first, second]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: second, line: 6, col: 5, path: 'indexes[1].name' });
    expect(problems[0]!.message).toContain(`${first}:3:5`);
  });

  it('the same index name in different schemas is not a duplicate', async () => {
    const first = await yamlFile('set: a\nindexes:\n  - name: idx_x\n    table: t\n    columns: [x]\n');
    const second = await yamlFile('set: b\nindexes:\n  - name: idx_x\n    table: other.t\n    columns: [x]\n');
    expect(await loadIndexSets([first, second])).toHaveLength(2);
  });

  it('collects every problem of every file into one error', async () => {
    const bad1 = await yamlFile(oneIndex('columns: []', 'uniqe: true'));
    const good = await yamlFile('set: g\nindexes:\n  - name: g1\n    table: t\n    columns: [x]\n');
    const bad2 = await yamlFile('set: s\nindexes:\n\t- name: a\n');
    const missing = path.join(dir, 'missing.yaml');
    const dup = await yamlFile('set: d\nindexes:\n  - name: G1\n    table: t\n    columns: [x]\n');
    const problems = await problemsOf([bad1, good, bad2, missing, dup]);
    expect(problems.map((p) => [p.file, p.path])).toEqual([
      [bad1, 'indexes[0].columns'],
      [bad1, 'indexes[0].uniqe'],
      [bad2, ''],
      [missing, ''],
      [dup, 'indexes[0].name'],
    ]);
  });
});

describe('loadIndexSets: a valid file', () => {
  const text = `set: week3
description: conversations and profiles
indexes:
  - name: Idx_A
    table: Orders
    columns:
      - Created_At desc nulls last
      - { expression: "lower(handle)" }
      - { column: Email, collate: C, opclass: text_pattern_ops }
    include: [Total]
    with: { fillfactor: 90, deduplicate_items: false }
    where: "status <> 'closed'"
    tablespace: Fast
  - name: '"Idx B"'
    table: sales."Order Items"
    unique: true
    nulls_not_distinct: true
    columns: [{ column: x, order: desc, nulls: first, opclass: public.my_ops }]
  - name: idx_gin
    table: events
    using: gin
    columns: [payload]
`;

  it('loads into normalised declarations', async () => {
    const file = await yamlFile(text);
    const sets = await loadIndexSets([file]);
    expect(sets).toHaveLength(1);
    const set = sets[0]!;
    expect(set).toMatchObject({ name: 'week3', description: 'conversations and profiles', file, checks: [] });
    expect(set.indexes).toEqual<IndexDeclaration[]>([
      {
        name: 'idx_a',
        table: { schema: 'public', name: 'orders' },
        method: 'btree',
        unique: false,
        keys: [
          { kind: 'column', column: 'created_at', order: 'desc', nulls: 'last' },
          { kind: 'expression', expression: 'lower(handle)' },
          { kind: 'column', column: 'email', collate: 'C', opclass: { schema: '', name: 'text_pattern_ops' } },
        ],
        include: ['total'],
        where: "status <> 'closed'",
        storage: { fillfactor: '90', deduplicate_items: 'false' },
        nullsNotDistinct: false,
        tablespace: 'fast',
        set: 'week3',
        source: { file, line: 4, col: 5 },
      },
      {
        name: 'Idx B',
        table: { schema: 'sales', name: 'Order Items' },
        method: 'btree',
        unique: true,
        keys: [{ kind: 'column', column: 'x', order: 'desc', nulls: 'first', opclass: { schema: 'public', name: 'my_ops' } }],
        include: [],
        storage: {},
        nullsNotDistinct: true,
        set: 'week3',
        source: { file, line: 14, col: 5 },
      },
      {
        name: 'idx_gin',
        table: { schema: 'public', name: 'events' },
        method: 'gin',
        unique: false,
        keys: [{ kind: 'column', column: 'payload' }],
        include: [],
        storage: {},
        nullsNotDistinct: false,
        set: 'week3',
        source: { file, line: 19, col: 5 },
      },
    ]);
  });

  it('keeps files in the order given', async () => {
    const a = await yamlFile('set: first\nindexes:\n  - name: i1\n    table: t\n    columns: [x]\n');
    const b = await yamlFile('set: second\nindexes:\n  - name: i2\n    table: t\n    columns: [x]\n');
    expect((await loadIndexSets([b, a])).map((s) => s.name)).toEqual(['second', 'first']);
  });
});
