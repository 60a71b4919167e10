import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYamlSource } from '../../src/config/yaml-source.js';
import { describeReadError, readInputFile } from '../../src/files/input-file.js';

describe('readInputFile', () => {
  it('reads a file up to the limit, and refuses one byte more with EFBIG', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-input-'));
    await writeFile(path.join(dir, 'at-limit'), 'é'.repeat(50));
    await writeFile(path.join(dir, 'over-limit'), 'x'.repeat(101));
    expect(await readInputFile(path.join(dir, 'at-limit'), 100)).toBe('é'.repeat(50));
    await expect(readInputFile(path.join(dir, 'over-limit'), 100)).rejects.toMatchObject({ code: 'EFBIG' });
  });

  it.each([
    ['ENOENT', 'file not found'],
    ['EISDIR', 'is a directory, not a file'],
    ['EFBIG', 'larger than 10 MB: dbtune reads input files of at most 10 MB'],
    ['EACCES', 'cannot read: EACCES'],
  ])('%s reads as "%s"', (code, message) => {
    expect(describeReadError(Object.assign(new Error(code), { code }))).toBe(message);
  });
});

describe('parseYamlSource and aliases', () => {
  const bomb = ['a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]', ...['b', 'c', 'd', 'e'].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcd'[i]}`).join(', ')}]`)].join('\n');

  it('an alias bomb is a positioned problem (at the first alias), not an exception', () => {
    const source = parseYamlSource('bomb.yaml', bomb);
    expect(source.value).toBeUndefined();
    expect(source.syntaxProblems).toEqual([{ file: 'bomb.yaml', line: 2, col: 8, path: '', message: expect.stringMatching(/alias bomb/) }]);
  });

  it('a few aliases still work', () => {
    expect(parseYamlSource('ok.yaml', 'a: &a [1, 2]\nb: [*a, *a]\n').value).toEqual({ a: [1, 2], b: [[1, 2], [1, 2]] });
  });
});
