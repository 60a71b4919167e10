import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/**
 * Setup file of every project: each test file gets a temp root of its own, and everything a test
 * or a CLI it spawns writes under the OS temp dir (scenario files, reports, a demo's data dir)
 * goes there and is removed after the file, pass or fail. os.tmpdir() reads TMPDIR at each call,
 * and spawned processes inherit it.
 *
 * afterAll runs only when the file runs a test: `vitest list`, a file whose tests are all skipped
 * or filtered out (-t), or one that fails to import never gets there. So the test process also
 * removes whatever root is left when it exits (synchronously: nothing asynchronous runs then),
 * and when a stop signal ends it: vitest runs files in child processes (the default `forks`
 * pool) and stops them with SIGTERM, which ends a process without its `exit` event.
 */
const root = mkdtempSync(path.join(tmpdir(), 'dbtune-test-run-'));
// An embedded server started under it runs as the `postgres` OS user when the tests run as root:
// that user must be able to pass through (not list) to the directory made for it.
chmodSync(root, 0o711);
process.env.TMPDIR = root;

const remove = (dir: string) => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });

// One set of listeners per process, however many files it runs (each re-evaluates this module).
const LEFT = Symbol.for('dbtune.test.tempRoots');
const holder = process as NodeJS.Process & { [LEFT]?: Set<string> };
if (!holder[LEFT]) {
  const roots = new Set<string>();
  holder[LEFT] = roots;
  const removeAll = () => {
    for (const dir of roots) remove(dir);
    roots.clear();
  };
  process.once('exit', removeAll);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeAll();
      // Then the signal's own effect, as without this listener: unless something else listens, the process ends.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
holder[LEFT].add(root);

afterAll(() => {
  remove(root);
  holder[LEFT]?.delete(root);
});
