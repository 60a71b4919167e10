#!/usr/bin/env node
/**
 * `dbtune loadtest --engine locust` against the autocannon engine and wrk, on
 * the same loopback target with the same users and duration: requests per
 * second, CPU time per request, and how the Locust engine scales from 1 to 2
 * workers. No target: the figures size a distributed run (how many worker
 * cores for a given rate), they do not pass or fail.
 *
 * Arms, each a spawned process:
 *
 *   locust ×2   dbtune loadtest <scenario> --engine locust --workers 2
 *   locust ×1   dbtune loadtest <scenario> --engine locust --workers 1
 *   autocannon  dbtune loadtest <scenario> (the in-process engine)
 *   wrk -t1     wrk -t1 -cC -dDs (skipped, with a note, if wrk is absent)
 *
 * rps: requests over each arm's own measured seconds (dbtune's --out; wrk's
 * report), so start-up (Python's, for Locust: about a second per process)
 * never counts. CPU per request, two ways:
 *   - stage: the load generator's CPU during the stage (dbtune's `generator`
 *     figures: the Locust workers' CPU, or the dbtune process's for
 *     autocannon) × the stage's seconds / its requests;
 *   - tree: the user + system CPU of the arm's whole process tree (dbtune,
 *     the Locust master and workers, or wrk), start-up and shutdown
 *     included, from this process's cutime + cstime (/proc/self/stat) before
 *     and after the arm, over the same requests.
 *
 * Arms are interleaved and their order rotates each round (A B C D, B C D A, …)
 * so drift on a shared machine hits all alike; only ratios from one run mean
 * anything. One unmeasured 2 s autocannon-engine run warms the target first.
 *
 *   npm run build && node bench/locust-vs-autocannon.js [--rounds 3] [--users 50] [--duration 10]
 *   (or BENCH_ROUNDS, BENCH_USERS, BENCH_DURATION); needs `locust` (apt-get install python3-locust)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { intOption } from './lib/options.js';
import { formatRatio, median } from './lib/stats.js';
import { fmtMs as fmt, JSON_TARGET_SCRIPT, killAll, runBounded, startScriptServer, withWorkDir } from './lib/children.js';
import { formatTable } from './lib/table.js';

const OVERRUN_MS = 60_000;
const WARMUP_SECONDS = 2;
const CLOCK_TICKS = 100;

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));

async function main() {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 3 });
  const users = intOption(argv, { flag: '--users', env: 'BENCH_USERS', fallback: 50 });
  const duration = intOption(argv, { flag: '--duration', env: 'BENCH_DURATION', fallback: 10 });
  if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    process.stderr.write('dist/cli/main.js is missing: run `npm run build` first.\n');
    return 1;
  }
  const locust = spawnSync('locust', ['--version'], { encoding: 'utf8' });
  if (locust.error) {
    process.stderr.write('locust is not installed: apt-get install python3-locust (or pip install locust==2.12.1)\n');
    return 1;
  }
  const wrk = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const hasWrk = !wrk.error;
  console.log(`locust-vs-autocannon: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, ` +
    `${locust.stdout.trim() || 'locust'} (${locust.stdout.trim() === 'locust' ? 'Debian: no version printed' : 'as printed'}), ${hasWrk ? 'wrk' : 'wrk absent'}`);
  console.log(`${rounds} rounds × ${users} users × ${duration} s; target: node:http in its own process on 127.0.0.1`);
  if (!hasWrk) console.log('note: wrk is not installed, so the wrk arm is skipped (Debian: apt-get install -y wrk)');

  return withWorkDir('dbtune-bench-locust-', async (work) => {
    const { port } = await startScriptServer(JSON_TARGET_SCRIPT);
    const url = `http://127.0.0.1:${port}`;
    const scenario = path.join(work, 'scenario.yaml');
    await writeFile(scenario, `scenario: bench\ntarget: ${url}\nrequests: [{ name: hello, path: /hello }]\nstages: [{ users: ${users}, duration: ${duration}s }]\nthresholds: { success_rate: 0% }\n`);
    await runArm(process.execPath, [cli, 'loadtest', scenario, '--duration', `${WARMUP_SECONDS}s`, '--format', 'json'], WARMUP_SECONDS);

    const dbtune = (extra) => (r, label) => runDbtune({ scenario, extra, out: path.join(work, `result-${label.replace(/\W/g, '')}-${r}.json`), duration, label });
    const arms = [
      { label: 'locust ×2', run: dbtune(['--engine', 'locust', '--workers', '2']) },
      { label: 'locust ×1', run: dbtune(['--engine', 'locust', '--workers', '1']) },
      { label: 'autocannon', run: dbtune([]) },
      ...(hasWrk ? [{ label: 'wrk -t1', run: () => runWrk({ url, users, duration }) }] : []),
    ];
    const samples = arms.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < arms.length; k++) {
        const i = (round + k) % arms.length;
        samples[i][round] = await arms[i].run(round, arms[i].label);
      }
      console.log();
      console.log(`round ${round + 1}`);
      console.log(formatTable(['arm', 'rps', 'requests', 'p50', 'p99', 'stage CPU/req', 'tree CPU/req', 'failures'], arms.map((arm, i) => row(arm.label, samples[i][round]))));
    }
    summarize(arms, samples);
    return 0;
  });
}

const us = (seconds) => (Number.isFinite(seconds) ? `${(seconds * 1e6).toFixed(0)} µs` : 'n/a');

function row(label, s) {
  return [label, s.rps.toFixed(0), String(s.requests), `${fmt(s.p50)} ms`, `${fmt(s.p99)} ms`, us(s.stageCpu), us(s.treeCpu), String(s.failures)];
}

function summarize(arms, samples) {
  const med = (i, key) => median(samples[i].map((s) => s[key]));
  const perRound = (a, b) => median(samples[a].map((s, r) => s.rps / samples[b][r].rps));
  console.log();
  console.log('medians over rounds');
  console.log(formatTable(['arm', 'rps', 'p50', 'p99', 'stage CPU/req', 'tree CPU/req', 'locust ×2 rps / arm rps (per-round median)'], arms.map((arm, i) => [
    arm.label, med(i, 'rps').toFixed(0), `${fmt(med(i, 'p50'))} ms`, `${fmt(med(i, 'p99'))} ms`, us(med(i, 'stageCpu')), us(med(i, 'treeCpu')), formatRatio(perRound(0, i)),
  ])));
  console.log();
  console.log(`Locust scaling, 1 → 2 workers: ×${perRound(0, 1).toFixed(2)} rps (median of per-round ratios; 2.00 would be linear)`);
  console.log(`locust ×2 / autocannon engine: ${perRound(0, 2).toFixed(2)} of its rps${arms[3] ? `; locust ×2 / wrk -t1: ${perRound(0, 3).toFixed(2)}` : ''}`);
  console.log(`CPU per request (stage), locust worker / autocannon engine: ×${(med(0, 'stageCpu') / med(2, 'stageCpu')).toFixed(1)}`);
  console.log('On 2 cores the target shares the CPU with the generator: rps here is a floor for what the workers can send.');
}

/** user + system CPU of this process's waited-for children (and theirs), s. */
function childrenCpu() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime: fields 16 and 17 of stat.
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

async function runDbtune({ scenario, extra, out, duration, label }) {
  const before = childrenCpu();
  await runArm(process.execPath, [cli, 'loadtest', scenario, ...extra, '--out', out, '--format', 'json'], duration, label);
  const tree = childrenCpu() - before;
  const stage = JSON.parse(await readFile(out, 'utf8')).stages[0];
  return {
    rps: stage.rps,
    requests: stage.requests,
    p50: stage.latency.p50,
    p99: stage.latency.p99,
    failures: stage.failures,
    stageCpu: (stage.generator.cpu_cores * stage.measured_s) / stage.requests,
    treeCpu: tree / stage.requests,
  };
}

async function runWrk({ url, users, duration }) {
  const before = childrenCpu();
  const { stdout } = await runArm('wrk', ['-t1', `-c${users}`, `-d${duration}s`, '--latency', `${url}/hello`], duration, 'wrk');
  const tree = childrenCpu() - before;
  const rps = Number(stdout.match(/Requests\/sec:\s*([\d.]+)/)?.[1]);
  const requests = Number(stdout.match(/(\d+) requests in/)?.[1]);
  const percentileMs = (p) => {
    const m = stdout.match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'));
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]] : NaN;
  };
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${stdout}`);
  // wrk is one process doing only the load: its whole CPU is the stage's.
  return { rps, requests, p50: percentileMs(50), p99: percentileMs(99), failures: Number(stdout.match(/Non-2xx or 3xx responses:\s*(\d+)/)?.[1] ?? 0), stageCpu: tree / requests, treeCpu: tree / requests };
}

/** Runs one arm to completion; SIGKILL by PID if it runs past `seconds` + OVERRUN_MS. */
function runArm(file, args, seconds, label = file) {
  return runBounded(file, args, { cwd: root, seconds, graceMs: OVERRUN_MS, label });
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    killAll();
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
