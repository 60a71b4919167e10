import { chmod, lstat, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNewFile, checkOutputFile, createExclusiveFile, writeOutputFile } from '../../src/files/output-file.js';

async function dir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'dbtune-output-'));
}

describe('writeOutputFile', () => {
  it('creates a file, and replaces one whole keeping its mode, leaving no temp file', async () => {
    const d = await dir();
    const file = path.join(d, 'out.json');
    await writeOutputFile(file, 'one', '--out');
    expect(await readFile(file, 'utf8')).toBe('one');
    await chmod(file, 0o640);
    await writeOutputFile(file, 'two', '--out');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(d)).toEqual(['out.json']);
  });

  it('refuses a symbolic link, live or dangling, and writes nothing through it (USAGE: exit 2)', async () => {
    const d = await dir();
    await writeFile(path.join(d, 'victim'), 'precious');
    await symlink(path.join(d, 'victim'), path.join(d, 'live'));
    await symlink(path.join(d, 'nowhere'), path.join(d, 'dangling'));
    for (const link of ['live', 'dangling']) {
      await expect(checkOutputFile(path.join(d, link), '--out')).rejects.toMatchObject({ code: 'USAGE' });
      await expect(writeOutputFile(path.join(d, link), 'x', '--out')).rejects.toMatchObject({ code: 'USAGE' });
      expect((await lstat(path.join(d, link))).isSymbolicLink()).toBe(true);
    }
    expect(await readFile(path.join(d, 'victim'), 'utf8')).toBe('precious');
    expect((await readdir(d)).sort()).toEqual(['dangling', 'live', 'victim']);
  });

  it('refuses a directory, or a directory that does not exist', async () => {
    const d = await dir();
    await expect(checkOutputFile(d, '--report')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(checkOutputFile(path.join(d, 'missing', 'r.html'), '--report')).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('createExclusiveFile', () => {
  it('creates the file 0600, and refuses a file or link already there', async () => {
    const d = await dir();
    const file = path.join(d, 'database-url');
    await checkNewFile(file, 'the URL');
    await createExclusiveFile(file, 'secret', 'the URL');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(checkNewFile(file, 'the URL')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(createExclusiveFile(file, 'again', 'the URL')).rejects.toMatchObject({ code: 'USAGE' });
    expect(await readFile(file, 'utf8')).toBe('secret');

    await symlink(path.join(d, 'elsewhere'), path.join(d, 'link'));
    await expect(createExclusiveFile(path.join(d, 'link'), 'secret', 'the URL')).rejects.toMatchObject({ code: 'USAGE' });
    expect(await readdir(d)).not.toContain('elsewhere');
  });
});
