import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import { writeTempFile } from './cli.js';
import { startTarget, type Handler, type TestTarget } from './http-target.js';

/**
 * What the `dbtune loadtest` end-to-end files share: HTTP targets on port 0
 * that are closed after each test, a scenario file with a result path beside
 * it, and reading that result.
 */

/** Call at the top of a test file: returns a starter whose targets close after each test. */
export function useTargets(): (handler: Handler, tls?: { key: string; cert: string }) => Promise<TestTarget> {
  const targets: TestTarget[] = [];
  afterEach(async () => {
    await Promise.all(targets.splice(0).map((t) => t.close()));
  });
  return async (handler, tls) => {
    const t = await startTarget(handler, tls);
    targets.push(t);
    return t;
  };
}

/** A scenario file in the test's temp dir, and where its run should write its result. */
export async function scenario(text: string): Promise<{ file: string; out: string }> {
  const file = await writeTempFile('scenario.yaml', text);
  return { file, out: path.join(path.dirname(file), 'result.json') };
}

export async function readResult(file: string): Promise<LoadResult> {
  return JSON.parse(await readFile(file, 'utf8')) as LoadResult;
}
