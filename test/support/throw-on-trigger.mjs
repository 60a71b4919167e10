// Loaded into the CLI under test with NODE_OPTIONS=--import: once the file named by
// DBTUNE_TEST_TRIGGER exists, raises an uncaught exception (DBTUNE_TEST_FAULT=exception)
// or an unhandled rejection (=rejection), as a bug in dbtune or a dependency would.
import { existsSync } from 'node:fs';

const trigger = process.env.DBTUNE_TEST_TRIGGER;
const fault = process.env.DBTUNE_TEST_FAULT ?? 'exception';
if (trigger) {
  const timer = setInterval(() => {
    if (!existsSync(trigger)) return;
    clearInterval(timer);
    if (fault === 'rejection') void Promise.reject(new Error('injected unhandled rejection'));
    else throw new Error('injected uncaught exception');
  }, 20);
  // Never keeps the CLI alive by itself.
  timer.unref();
}
