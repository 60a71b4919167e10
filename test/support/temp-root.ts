import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/**
 * Setup file of every project: each test file gets a temp root of its own, and everything a test
 * or a CLI it spawns writes under the OS temp dir (scenario files, reports, a demo's data dir)
 * goes there and is removed after the file, pass or fail. os.tmpdir() reads TMPDIR at each call,
 * and spawned processes inherit it.
 */
const root = mkdtempSync(path.join(tmpdir(), 'dbtune-test-run-'));
// An embedded server started under it runs as the `postgres` OS user when the tests run as root:
// that user must be able to pass through (not list) to the directory made for it.
chmodSync(root, 0o711);
process.env.TMPDIR = root;

afterAll(() => {
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
});
