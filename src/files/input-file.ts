import { open } from 'node:fs/promises';

/**
 * The most dbtune reads of any one input file: index sets, checks files,
 * scenarios and their CSV data, dbtune.yaml, saved results. Far above any real
 * one; it stops a wrong path (a database dump, /dev/zero) from eating memory.
 */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;

/**
 * Reads a UTF-8 input file of at most `limit` bytes. Past the limit it stops
 * reading and throws an error with code `EFBIG`; pipes (`<(…)`) work too, as
 * the limit counts what was read, not what stat says.
 */
export async function readInputFile(file: string, limit = MAX_INPUT_BYTES): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // Never asks for more than one byte past the limit.
      const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw Object.assign(new Error(`${file} is larger than ${limit} bytes`), { code: 'EFBIG' });
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** What went wrong reading an input file, as a problem message. */
export function describeReadError(error: unknown, limit = MAX_INPUT_BYTES): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EFBIG':
      return `larger than ${formatLimit(limit)}: dbtune reads input files of at most ${formatLimit(limit)}`;
    default:
      return `cannot read: ${code ?? String(error)}`;
  }
}

function formatLimit(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MB` : `${bytes} bytes`;
}
