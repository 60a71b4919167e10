/**
 * Child processes a benchmark starts: tracked so that every one is stopped by
 * its PID on the way out (errors, SIGINT), never by name.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** @type {Set<import('node:child_process').ChildProcess>} */
export const children = new Set();

/**
 * Starts `node --input-type=module -e <script> [...args]`, a server that prints
 * one JSON line (e.g. `{ "port": 1234 }`) once it listens, and resolves with it.
 */
export function startScriptServer(script, { args = [], env = process.env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.once('error', reject);
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      if (buffered.includes('\n')) resolve({ ...JSON.parse(buffered.split('\n')[0]), pid: child.pid });
    });
    child.once('exit', (code) => reject(new Error(`the server exited ${code} before printing its port`)));
  });
}

/**
 * A trivial load target for {@link startScriptServer}: one process, one event loop, a small JSON
 * body for every request; prints its port.
 */
export const JSON_TARGET_SCRIPT = `
import http from 'node:http';
const body = JSON.stringify({ ok: true, service: 'bench', items: [1, 2, 3] });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/**
 * Runs a command to completion, tracked, with NO_COLOR set; SIGKILL by PID if
 * it runs past `seconds` + `graceMs`. Rejects on a non-zero exit with the tail
 * of its stderr. `watch(pid)` may return a function called once it ends.
 * @returns {Promise<{ stdout: string, stderr: string, ms: number }>} ms: spawn to close
 */
export function runBounded(file, args, { cwd, seconds, graceMs, label = file, watch }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    children.add(child);
    const unwatch = watch?.(child.pid);
    let stdout = '';
    let stderr = '';
    let overran = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const limit = setTimeout(() => {
      overran = true;
      process.kill(child.pid, 'SIGKILL');
    }, seconds * 1000 + graceMs);
    child.once('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(limit);
      unwatch?.();
      children.delete(child);
      if (overran) return reject(new Error(`${label} overran ${seconds} s + ${graceMs / 1000} s and was killed`));
      if (code !== 0) return reject(new Error(`${label} exited ${code ?? signal}:\n${stderr.trim().split('\n').slice(-8).join('\n')}`));
      resolve({ stdout, stderr, ms });
    });
  });
}

/** Stops every tracked child (SIGKILL by PID). */
export function killAll() {
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
}

/**
 * Runs `use(work)` with a fresh temp dir under `prefix`; however it ends (a
 * result, an error, Ctrl-C with exit 130), every tracked child is stopped by
 * PID and the dir removed.
 */
export async function withWorkDir(prefix, use) {
  const work = await mkdtemp(path.join(tmpdir(), prefix));
  const onSigint = () => {
    killAll();
    void rm(work, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    return await use(work);
  } finally {
    process.off('SIGINT', onSigint);
    killAll();
    await rm(work, { recursive: true, force: true });
  }
}

/** Latency in ms: three decimals under 1 ms, two under 10, one above. */
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}
