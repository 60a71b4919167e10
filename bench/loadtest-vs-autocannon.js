#!/usr/bin/env node
/**
 * `dbtune loadtest` (one stage) against raw autocannon and wrk, on the same
 * loopback target with the same connections and duration. Targets: dbtune
 * rps / autocannon rps ≥ 0.9 (dbtune measures every response itself on top
 * of autocannon's client), and dbtune's peak RSS < 200 MB for 100 users over
 * 60 s.
 *
 * Arms, each a spawned process so all pay the same process set-up (none of
 * it counts: every arm's rps is requests over its own measured seconds):
 *
 *   dbtune      node bin/dbtune.js loadtest <scenario> --stages C --duration Ds --out <json>
 *   autocannon  autocannon 9 with its defaults, from the repo's node_modules, in
 *               an inline script that prints its result (rps = requests.total / duration)
 *   wrk         wrk -t1 -cC -dDs --latency (skipped, with a note, if wrk is absent):
 *               a C client with its own event loop, so only the ratio means anything
 *
 * The target is a node:http server answering a small JSON body at once, in
 * its own process so it never shares an event loop with a generator. On a
 * 2-core machine target and generator each get about one core: the figures
 * are a generator's cost per request as much as the target's speed.
 * autocannon records latency in whole milliseconds (its histogram's unit);
 * dbtune in microseconds, wrk in microseconds.
 *
 * Arms are interleaved and the order rotates each round (A B C, B C A, …) so
 * drift on a shared machine hits all arms alike; only ratios from one run are
 * comparable. One unmeasured 2 s autocannon run warms the target's JIT first.
 *
 * Peak RSS: dbtune runs under `node --import <preload>`, the preload printing
 * process.resourceUsage().maxRSS (getrusage ru_maxrss, kB on Linux) on
 * 'exit' — the kernel's own high-water mark for the whole life of the
 * process, report rendering included, so nothing between polls is missed.
 * /proc/<pid>/status VmHWM, polled every 250 ms, is printed as a cross-check
 * (Linux only; it can miss whatever happens after the last poll).
 *
 *   npm run build && node bench/loadtest-vs-autocannon.js [--rounds 3] [--connections 50] [--duration 10]
 *                        [--rss-users 100] [--rss-duration 60] [--no-rss]
 *   (or BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_DURATION, BENCH_RSS_USERS, BENCH_RSS_DURATION, BENCH_RSS=0)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { boolOption, intOption } from './lib/options.js';
import { formatRatio, median } from './lib/stats.js';
import { fmtMs as fmt, JSON_TARGET_SCRIPT, killAll, runBounded, startScriptServer, withWorkDir } from './lib/children.js';
import { formatTable } from './lib/table.js';

const TARGET_RPS_RATIO = 0.9;
const TARGET_RSS_MB = 200;
/** Each arm is killed if it runs this long past its duration. */
const OVERRUN_MS = 30_000;
const WARMUP_SECONDS = 2;
const RSS_POLL_MS = 250;

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));

/** Raw autocannon, defaults untouched: argv is url, connections, seconds, a path to resolve autocannon from. */
const AUTOCANNON_SCRIPT = `
import { createRequire } from 'node:module';
const [url, connections, duration, base] = process.argv.slice(1);
const autocannon = createRequire(base)('autocannon');
const result = await autocannon({ url, connections: Number(connections), duration: Number(duration) });
process.stdout.write(JSON.stringify({
  rps: result.requests.total / result.duration,
  requests: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  failures: result.errors + result.timeouts + result.non2xx,
}) + '\\n');
`;

/** Printed on exit by a dbtune run under --import: the process's peak RSS in kB. */
const RSS_PRELOAD = `process.on('exit', () => process.stderr.write('\\nBENCH_MAX_RSS_KB=' + process.resourceUsage().maxRSS + '\\n'));\n`;


async function main() {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 3 });
  const connections = intOption(argv, { flag: '--connections', env: 'BENCH_CONNECTIONS', fallback: 50 });
  const duration = intOption(argv, { flag: '--duration', env: 'BENCH_DURATION', fallback: 10 });
  const withRss = boolOption(argv, { flag: '--rss', env: 'BENCH_RSS', fallback: true });
  const rssUsers = intOption(argv, { flag: '--rss-users', env: 'BENCH_RSS_USERS', fallback: 100 });
  const rssDuration = intOption(argv, { flag: '--rss-duration', env: 'BENCH_RSS_DURATION', fallback: 60 });
  if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    process.stderr.write('dist/cli/main.js is missing: run `npm run build` first.\n');
    return 1;
  }
  const wrk = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const hasWrk = !wrk.error;
  const wrkVersion = hasWrk ? (`${wrk.stdout}${wrk.stderr}`.match(/wrk [\d.]+\S*/)?.[0] ?? 'wrk') : undefined;
  const acVersion = JSON.parse(await readFile(path.join(root, 'node_modules/autocannon/package.json'), 'utf8')).version;

  console.log(`loadtest-vs-autocannon: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, ` +
    `autocannon ${acVersion}, ${wrkVersion ?? 'wrk absent'}`);
  console.log(`${rounds} rounds × ${connections} connections × ${duration} s; target: node:http in its own process on 127.0.0.1`);
  if (!hasWrk) console.log('note: wrk is not installed, so the wrk arm is skipped (Debian: apt-get install -y wrk)');

  return withWorkDir('dbtune-bench-load-', async (work) => {
    const { port } = await startScriptServer(JSON_TARGET_SCRIPT);
    const url = `http://127.0.0.1:${port}`;
    await runArm(process.execPath, ['--input-type=module', '-e', AUTOCANNON_SCRIPT, `${url}/hello`, String(connections), String(WARMUP_SECONDS), cli], WARMUP_SECONDS);

    const arms = [
      { label: 'dbtune loadtest', run: (r) => runDbtune({ url, users: connections, duration, work, tag: `r${r}` }) },
      { label: 'autocannon', run: () => runAutocannon({ url, connections, duration }) },
      ...(hasWrk ? [{ label: 'wrk -t1', run: () => runWrk({ url, connections, duration }) }] : []),
    ];
    const samples = arms.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < arms.length; k++) {
        const i = (round + k) % arms.length;
        samples[i][round] = await arms[i].run(round);
      }
      console.log();
      console.log(`round ${round + 1}`);
      console.log(formatTable(['arm', 'rps', 'requests', 'p50', 'p99', 'failures', 'note'], arms.map((arm, i) => armRow(arm.label, samples[i][round]))));
    }
    summarize(arms, samples, hasWrk);

    if (withRss) await measureRss({ url, users: rssUsers, duration: rssDuration, work });
    return 0;
  });
}

function armRow(label, s) {
  return [label, s.rps.toFixed(0), String(s.requests), `${fmt(s.p50)} ms`, `${fmt(s.p99)} ms`, String(s.failures), s.note ?? ''];
}

function summarize(arms, samples, hasWrk) {
  const med = (i, key) => median(samples[i].map((s) => s[key]));
  console.log();
  console.log('medians over rounds');
  console.log(formatTable(['arm', 'rps', 'p50', 'p99', 'dbtune rps / arm rps'], arms.map((arm, i) => [
    arm.label, med(i, 'rps').toFixed(0), `${fmt(med(i, 'p50'))} ms`, `${fmt(med(i, 'p99'))} ms`, formatRatio(med(0, 'rps') / med(i, 'rps')),
  ])));
  console.log();
  // Same-round pairs cancel drift between rounds: a second opinion on the ratio of medians.
  const ratioLine = (i, label, target) => {
    const ofMedians = med(0, 'rps') / med(i, 'rps');
    const perRound = median(samples[0].map((s, r) => s.rps / samples[i][r].rps));
    const verdict = target === undefined ? '' : ` (target ≥ ${target}) ${ofMedians >= target ? 'OK' : 'UNDER TARGET'}`;
    console.log(`dbtune rps / ${label} rps: ${ofMedians.toFixed(3)}${verdict}; median of per-round ratios ${perRound.toFixed(3)}`);
  };
  ratioLine(1, 'autocannon', TARGET_RPS_RATIO);
  if (hasWrk) {
    ratioLine(2, 'wrk', undefined);
    console.log('  (wrk is a C client with its own event loop: only the ratio is meaningful, not a target)');
  }
  const gen = samples[0].map((s) => s.generator).filter(Boolean);
  if (gen.length) {
    console.log(`dbtune generator: ${median(gen.map((g) => g.cpu_cores)).toFixed(2)} cores of CPU, event-loop delay p99 ` +
      `${median(gen.map((g) => g.event_loop_p99_ms)).toFixed(1)} ms (medians); saturated in ${gen.filter((g) => g.saturated).length}/${gen.length} rounds`);
  }
}

/** Arm A: dbtune loadtest, one stage; figures from its --out JSON. */
async function runDbtune({ url, users, duration, work, tag }) {
  const scenario = path.join(work, `scenario-${tag}.yaml`);
  const out = path.join(work, `result-${tag}.json`);
  await writeFile(scenario, scenarioYaml(url, users, duration));
  const args = [cli, 'loadtest', scenario, '--stages', String(users), '--duration', `${duration}s`, '--out', out, '--format', 'json'];
  await runArm(process.execPath, args, duration, 'dbtune loadtest');
  const stage = JSON.parse(await readFile(out, 'utf8')).stages[0];
  return {
    rps: stage.rps,
    requests: stage.requests,
    p50: stage.latency.p50,
    p99: stage.latency.p99,
    failures: stage.failures,
    generator: stage.generator,
    note: `generator ${stage.generator.cpu_cores} cores${stage.generator.saturated ? ' (saturated)' : ''}`,
  };
}

/** Arm B: raw autocannon in its own process. */
async function runAutocannon({ url, connections, duration }) {
  const { stdout } = await runArm(process.execPath,
    ['--input-type=module', '-e', AUTOCANNON_SCRIPT, `${url}/hello`, String(connections), String(duration), cli], duration, 'autocannon');
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** Arm C: wrk, one thread. */
async function runWrk({ url, connections, duration }) {
  const { stdout } = await runArm('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', `${url}/hello`], duration, 'wrk');
  return parseWrk(stdout);
}

/**
 * wrk's text report: `Requests/sec: 12345.67`, `N requests in 10.00s`, the
 * `--latency` distribution (`50%  1.23ms`, units us/ms/s/m), and failure lines.
 */
function parseWrk(text) {
  const rps = Number(text.match(/Requests\/sec:\s*([\d.]+)/)?.[1]);
  const requests = Number(text.match(/(\d+) requests in/)?.[1]);
  const percentileMs = (p) => {
    const m = text.match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'));
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
  };
  const non2xx = Number(text.match(/Non-2xx or 3xx responses:\s*(\d+)/)?.[1] ?? 0);
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const failures = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${text}`);
  return { rps, requests, p50: percentileMs(50), p99: percentileMs(99), failures };
}

/** Peak memory of dbtune loadtest at `users` for `duration` s. */
async function measureRss({ url, users, duration, work }) {
  console.log();
  console.log(`peak RSS: dbtune loadtest, ${users} users × ${duration} s (preload maxRSS; /proc VmHWM polled every ${RSS_POLL_MS} ms as a cross-check)`);
  const preload = path.join(work, 'max-rss.mjs');
  const scenario = path.join(work, 'scenario-rss.yaml');
  const out = path.join(work, 'result-rss.json');
  await writeFile(preload, RSS_PRELOAD);
  await writeFile(scenario, scenarioYaml(url, users, duration));
  let vmHwmKb = 0;
  const args = ['--import', preload, cli, 'loadtest', scenario, '--stages', String(users), '--duration', `${duration}s`, '--out', out, '--format', 'json'];
  const { stderr } = await runArm(process.execPath, args, duration, 'dbtune loadtest (RSS)', (pid) => {
    const poll = setInterval(() => {
      readFile(`/proc/${pid}/status`, 'utf8').then(
        (status) => (vmHwmKb = Math.max(vmHwmKb, Number(status.match(/^VmHWM:\s*(\d+) kB/m)?.[1] ?? 0))),
        () => {},
      );
    }, RSS_POLL_MS);
    return () => clearInterval(poll);
  });
  const maxRssKb = Number(stderr.match(/BENCH_MAX_RSS_KB=(\d+)/)?.[1]);
  if (!Number.isFinite(maxRssKb)) throw new Error(`the preload printed no maxRSS:\n${stderr.slice(-2000)}`);
  const stage = JSON.parse(await readFile(out, 'utf8')).stages[0];
  const mb = maxRssKb / 1024;
  console.log(formatTable(['measure', 'value'], [
    ['peak RSS (maxRSS at exit)', `${mb.toFixed(1)} MB`],
    ['peak RSS (VmHWM, polled)', vmHwmKb ? `${(vmHwmKb / 1024).toFixed(1)} MB` : 'n/a (no /proc)'],
    ['requests', String(stage.requests)],
    ['rps', stage.rps.toFixed(0)],
    ['p50 / p99', `${fmt(stage.latency.p50)} / ${fmt(stage.latency.p99)} ms`],
    ['failures', String(stage.failures)],
    ['generator', `${stage.generator.cpu_cores} cores, loop p99 ${stage.generator.event_loop_p99_ms} ms`],
  ]));
  console.log(`dbtune peak RSS: ${mb.toFixed(1)} MB (target < ${TARGET_RSS_MB} MB) ${mb < TARGET_RSS_MB ? 'OK' : 'OVER TARGET'}`);
}

function scenarioYaml(url, users, duration) {
  return [
    'scenario: bench',
    `target: ${url}`,
    'requests: [{ name: hello, path: /hello }]',
    `stages: [{ users: ${users}, duration: ${duration}s }]`,
    'thresholds: { success_rate: 0% }',
    '',
  ].join('\n');
}

/** Starts the target process and waits for the port it prints. */

/**
 * Runs one arm to completion; kills it by PID (SIGKILL) if it runs past
 * `seconds` + OVERRUN_MS. `watch(pid)` may return a stop function.
 * @returns {Promise<{ stdout: string, stderr: string }>}
 */
function runArm(file, args, seconds, label = file, watch) {
  return runBounded(file, args, { cwd: root, seconds, graceMs: OVERRUN_MS, label, watch });
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    killAll();
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
