import { spawn } from 'node:child_process';

/**
 * Runs a command to completion and measures wall time from spawn to exit,
 * process start-up included: that is what a person or a CI job waits for.
 *
 * Async spawn rather than spawnSync so a bench can keep a `pg` connection
 * (whose socket must stay serviced) open across runs.
 *
 * @param {string} file
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, captureStdout?: boolean }} [options]
 * @returns {Promise<{ ms: number, code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>}
 */
export function runTimed(file, args, { cwd, env, captureStdout = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ ms, code, signal, stdout, stderr });
    });
  });
}

/** Throws with the command's stderr tail unless it exited 0. */
export function assertExitedOk(label, result) {
  if (result.code === 0) return;
  const tail = result.stderr.trim().split('\n').slice(-8).join('\n');
  throw new Error(`${label} exited ${result.code ?? result.signal}:\n${tail}`);
}
