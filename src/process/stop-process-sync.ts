import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { platform } from 'node:os';

/**
 * Stops a process dbtune started, by its PID, and blocks until it has exited
 * (bounded): for the ways out where the event loop cannot be awaited. Sends
 * `signal`, then SIGKILL after `graceMs`. Returns whether it is gone.
 *
 * Callers pass only PIDs of their own children that Node has not yet seen
 * exit, so a PID reused by another process is never signalled.
 */
export function stopProcessSync(pid: number, signal: NodeJS.Signals, graceMs = 5000): boolean {
  if (!running(pid)) return true;
  try {
    process.kill(pid, signal);
  } catch {
    return !running(pid);
  }
  if (waitForExitSync(pid, graceMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone in the meantime.
  }
  return waitForExitSync(pid, 2000);
}

function waitForExitSync(pid: number, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    sleepSync(10);
  }
  return true;
}

/**
 * Whether the process still runs. A child that exited stays a zombie until
 * Node reaps it on a later turn of the event loop, which a blocking wait never
 * reaches; `kill(pid, 0)` succeeds on a zombie, so its state is read too.
 */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

function zombie(pid: number): boolean {
  if (platform() === 'linux') {
    try {
      // "pid (comm) S …": the state follows the last ')' (comm may hold one).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return true;
    }
  }
  if (platform() === 'win32') return false;
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    // ps exits 1 when there is no such process.
    return true;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
