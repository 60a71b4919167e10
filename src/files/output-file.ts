import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DbtuneError } from '../errors.js';

/**
 * The one way dbtune writes the files a user names (--out, --report, --save,
 * init's scaffold, the demo's results):
 *
 * - never through a symbolic link: a link at the destination is refused
 *   (exit 2), since it may point anywhere (someone else's file, or a system
 *   file when CI runs as root). A link put there during the run is replaced
 *   by the rename below, never followed.
 * - whole or not at all: written to a new temp file in the same directory,
 *   then renamed over the destination, so nobody reads half a report and a
 *   failed write leaves the old file as it was.
 *
 * `label` names the file for the user: "--out", "--report", "the demo's summary".
 */

/** Checks, before anything runs, that `file` can be written (exit 2 otherwise). */
export async function checkOutputFile(file: string, label: string): Promise<void> {
  const target = path.resolve(file);
  try {
    await access(path.dirname(target), constants.W_OK);
  } catch {
    throw new DbtuneError('USAGE', `cannot write ${label} file ${file}: its directory does not exist or is not writable`);
  }
  await refuseLinkOrDirectory(target, file, label);
}

/** Writes `text` to `file` through a temp file renamed over it. An existing file keeps its mode; a new one gets `mode` less the umask (default 0o666). */
export async function writeOutputFile(file: string, text: string, label: string, mode = 0o666): Promise<void> {
  const target = path.resolve(file);
  const existing = await refuseLinkOrDirectory(target, file, label);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx': the temp name is new, so nothing (not a link planted there) is ever opened for writing.
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(text);
      if (existing) await handle.chmod(existing.mode & 0o7777);
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new DbtuneError('INTERNAL', `cannot write ${label} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

/** Refuses, before anything runs, a file that {@link createExclusiveFile} will create but that exists already (exit 2). */
/**
 * For a file people edit (an index set): checked as any output file, and one that exists is
 * replaced only with --force.
 */
export async function checkEditableOutput(file: string, label: string, force: boolean): Promise<void> {
  await checkOutputFile(file, label);
  if (!force && (await lstat(file).then(() => true, () => false))) {
    throw new DbtuneError('USAGE', `${label} file ${file} exists; nothing was written`, { hint: 'pass --force to overwrite it' });
  }
}

export async function checkNewFile(file: string, label: string): Promise<void> {
  await checkOutputFile(file, label);
  if (await lstat(file).then(() => true, () => false)) throw exists(file, label);
}

/**
 * Creates `file` anew with `mode` (default 0600: only its owner reads it), for
 * files that hold a secret. Fails if anything is there, a link included
 * (O_CREAT | O_EXCL): a file someone else made, and can read, is never reused.
 */
export async function createExclusiveFile(file: string, text: string, label: string, mode = 0o600): Promise<void> {
  try {
    await writeFile(file, text, { flag: 'wx', mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw exists(file, label);
    throw new DbtuneError('INTERNAL', `cannot write ${label} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

function exists(file: string, label: string): DbtuneError {
  return new DbtuneError('USAGE', `${label} file ${file} exists; dbtune creates it anew and will not reuse it`, { hint: 'remove it, or choose another directory' });
}

async function refuseLinkOrDirectory(target: string, file: string, label: string): Promise<{ mode: number } | undefined> {
  let info;
  try {
    info = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DbtuneError('USAGE', `cannot write ${label} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (info.isSymbolicLink()) {
    throw new DbtuneError('USAGE', `refusing to write ${label} file ${file}: it is a symbolic link, and dbtune never writes through one`, {
      hint: 'name the file the link points to, or remove the link',
    });
  }
  if (info.isDirectory()) throw new DbtuneError('USAGE', `cannot write ${label} file ${file}: it is a directory`);
  return { mode: info.mode };
}
