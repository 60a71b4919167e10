#!/usr/bin/env node
/**
 * CLI start-up cost: `dbtune --help` and `dbtune plan --help` against a bare
 * `node -e ''`, spawned as separate processes. The target is dbtune --help
 * ≤ 2.5× bare node (ratio of medians): main.ts lazy-imports commands so help
 * loads commander only, and this bench catches an eager import creeping back.
 *
 * Runs are interleaved (each round runs every command once, rotating which
 * goes first) so that drift on a shared, noisy machine hits all commands
 * alike; only ratios from one run are comparable, absolute ms are not.
 *
 *   npm run build && node bench/cli-startup.js [--rounds 20]   (or BENCH_ROUNDS=20)
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { intOption } from './lib/options.js';
import { runTimed, assertExitedOk } from './lib/run-timed.js';
import { formatMs, formatRatio, median, percentile } from './lib/stats.js';
import { formatTable } from './lib/table.js';

const TARGET_RATIO = 2.5;
const WARMUP_ROUNDS = 2;

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));

/** The baseline comes first: every ratio is against it. */
const COMMANDS = [
  { label: "node -e ''", args: ['-e', ''] },
  { label: 'dbtune --help', args: [cli, '--help'] },
  { label: 'dbtune plan --help', args: [cli, 'plan', '--help'] },
];

async function main() {
  const rounds = intOption(process.argv.slice(2), { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 20 });
  if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    process.stderr.write('dist/cli/main.js is missing: run `npm run build` first.\n');
    return 1;
  }

  console.log(`cli-startup: ${rounds} rounds (+${WARMUP_ROUNDS} warm-up), node ${process.version}, ${availableParallelism()} cores`);
  const samples = COMMANDS.map(() => []);
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    // Rotate the order so no command always runs right after another's exit.
    for (let k = 0; k < COMMANDS.length; k++) {
      const i = (round + k) % COMMANDS.length;
      // process.execPath: the same node binary for every command, whatever PATH says.
      // cwd = repo root, as a developer would run it; stdout is ignored (help text is not the point).
      const result = await runTimed(process.execPath, COMMANDS[i].args, { cwd: root });
      assertExitedOk(COMMANDS[i].label, result);
      if (round >= WARMUP_ROUNDS) samples[i].push(result.ms);
    }
  }

  const baseline = median(samples[0]);
  const rows = COMMANDS.map((command, i) => [
    command.label,
    formatMs(median(samples[i])),
    formatMs(percentile(samples[i], 90)),
    formatMs(Math.min(...samples[i])),
    i === 0 ? '1.00×' : formatRatio(median(samples[i]) / baseline),
  ]);
  console.log();
  console.log(formatTable(['command', 'median', 'p90', 'min', 'ratio (medians)'], rows));

  const helpRatio = median(samples[1]) / baseline;
  console.log();
  // Same-round pairs cancel drift between rounds: a second opinion on the ratio of medians.
  const paired = median(samples[1].map((ms, round) => ms / samples[0][round]));
  console.log(`dbtune --help / node -e '': ${formatRatio(helpRatio)} (target ≤ ${TARGET_RATIO}×) ${helpRatio <= TARGET_RATIO ? 'OK' : 'OVER TARGET'}; median of per-round ratios ${formatRatio(paired)}`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
