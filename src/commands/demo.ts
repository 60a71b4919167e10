import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { connect } from '../db/client.js';
import { resolveConnectionOptions } from '../db/connection-options.js';
import { startEmbeddedServer, type EmbeddedServer } from '../db/embedded-server.js';
import { activeUsers, createDemoDatabase, DEMO_DATABASE, DEMO_TENANTS, seedDemo, seedSize } from '../demo/seed.js';
import { afterAdvice, resetWorkloadStatistics } from '../demo/advised-set.js';
import { adviceReport, demoSummary } from '../demo/summary.js';
import { DbtuneError } from '../errors.js';
import { checkNewFile, checkOutputFile, createExclusiveFile, writeOutputFile } from '../files/output-file.js';
import { readSavedResultOfKind } from '../model/saved-result.js';
import { colorWanted, emitReport, write } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import type { CommandContext, CommandHandler, CommandOutcome } from './context.js';
import { parseIntOption } from './shared.js';
import { withThousands } from '../text/thousands.js';

export interface DemoOptions {
  quick?: boolean;
  keep?: boolean;
  rows?: string;
  report?: string;
  dir?: string;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX_SET = path.join(PACKAGE_ROOT, 'indexes', 'demo.yaml');
const SCENARIO = path.join(PACKAGE_ROOT, 'scenarios', 'demo.yaml');

/**
 * `dbtune demo`: the whole story on a throwaway embedded PostgreSQL and a
 * bundled API, with real numbers: baseline checks and staged load, advise
 * (from what the load ran, scored by building: the database is disposable),
 * apply what it found, verify, checks and load again, then before → after. Every step is the real
 * command, run in-process, printing what it prints for a user.
 */
export const run: CommandHandler<DemoOptions> = async (_args, options, context) => {
  const { io, signal } = context;
  const quick = options.quick ?? false;
  const rows = parseIntOption('--rows', options.rows, 10_000, 50_000_000) ?? (quick ? 200_000 : 1_000_000);
  const dir = options.dir ? path.resolve(options.dir) : await mkdtemp(path.join(tmpdir(), 'dbtune-demo-'));
  await mkdir(dir, { recursive: true });
  const report = options.report ? path.resolve(options.report) : path.join(dir, 'report.html');
  const urlFile = path.join(dir, 'database-url');
  // Checked now, not after minutes of demo: bad usage runs nothing.
  await checkOutputFile(report, '--report');
  if (options.keep) await checkNewFile(urlFile, 'the --keep database URL');
  const paint = colorWanted(io.stdout, io.env) ? ansiPaint : plainPaint;
  const step = (title: string) => write(io.stdout, `\n${paint.bold(`━━ ${title}`)}\n`);

  let server: EmbeddedServer | undefined;
  let api: ApiWorker | undefined;
  try {
    await step('Starting an embedded PostgreSQL and the demo API (loopback, free ports)');
    server = await startEmbeddedServer({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
    const databaseUrl = server.urlFor(DEMO_DATABASE);
    const size = seedSize(rows);
    await createAndSeed(server, size, io, signal);
    api = await startApi(databaseUrl);
    const target = `http://127.0.0.1:${api.port}`;
    await write(io.stdout, `PostgreSQL ${server.major} on 127.0.0.1:${server.port} (data in a temp dir), demo API on ${target}; files in ${dir}\n`);

    // The commands read their connection and variables from this environment, as they would in CI.
    const env = { ...io.env, DATABASE_URL: databaseUrl, DEMO_USERS: String(size.users), DEMO_ACTIVE_USERS: String(activeUsers(size)), DEMO_TENANTS: String(DEMO_TENANTS) };
    const commandContext: CommandContext = { io: { ...io, env: { ...env, GITHUB_STEP_SUMMARY: undefined } }, signal };
    // An empty project config of the demo's own: a dbtune.yaml in the current directory must not change the story.
    const config = path.join(dir, 'dbtune.yaml');
    await writeOutputFile(config, '# dbtune demo: defaults\n', "the demo's config");
    const loadOptions = { config, target, databaseUrl, ...(quick ? { duration: '3s' } : {}) };
    const files = {
      explainBefore: path.join(dir, 'explain-before.json'),
      explainAfter: path.join(dir, 'explain-after.json'),
      loadBefore: path.join(dir, 'load-before.json'),
      loadAfter: path.join(dir, 'load-after.json'),
      advised: path.join(dir, 'advised.yaml'),
    };
    const { run: explain } = await import('./explain.js');
    const { run: loadtest } = await import('./loadtest.js');

    await step('1/7 Baseline: EXPLAIN ANALYZE checks of the hot queries (expect sequential scans)');
    await explain([INDEX_SET], { config, save: files.explainBefore, runs: quick ? '3' : '5' }, commandContext);
    if (signal.aborted) return 'interrupted';

    // advise reads the workload from pg_stat_statements: from here on, what the load runs.
    await resetWorkloadStatistics(databaseUrl);
    await step(`2/7 Baseline: staged load, 10 → 50 → 100 users${quick ? ' (3 s stages)' : ''}, watching the database`);
    await loadtest([SCENARIO], { ...loadOptions, out: files.loadBefore }, commandContext);
    if (signal.aborted) return 'interrupted';

    await step('3/7 dbtune advise --build: indexes for the statements the load ran (pg_stat_statements); this database is disposable, so each candidate is built, planned and dropped');
    const { run: advise } = await import('./advise.js');
    // A set left by an earlier run in the same --dir must not stand in for this run's advice.
    await rm(files.advised, { force: true });
    const advised = await advise([], { config, build: true, out: files.advised, force: true }, commandContext);
    if (advised !== 'ok') return advised;
    const after = await afterAdvice({ demoSet: INDEX_SET, advisedSet: files.advised, scenario: SCENARIO, dir });
    await emitReport(adviceReport(after), 'table', io);
    const setLabel = after.appliesAdvised ? `${path.basename(files.advised)} (advise's set, in ${dir})` : 'indexes/demo.yaml';

    await step(`4/7 dbtune apply ${setLabel}: CREATE INDEX CONCURRENTLY, writes never blocked`);
    const { run: apply } = await import('./apply.js');
    const applied = await apply([after.set], { config }, commandContext);
    if (applied !== 'ok') return applied;

    await step('5/7 dbtune verify: every index exists, is valid and matches its declaration');
    const { run: verify } = await import('./verify.js');
    const verified = await verify([after.set], { config, checks: false }, commandContext);
    if (verified !== 'ok') return verified;

    await step('6/7 After: the same checks, now on the indexes');
    await explain([after.checks], { config, save: files.explainAfter, runs: quick ? '3' : '5' }, commandContext);
    if (signal.aborted) return 'interrupted';

    await step('7/7 After: the same staged load');
    await loadtest([after.scenario], { ...loadOptions, out: files.loadAfter, report, baseline: files.loadBefore }, commandContext);
    if (signal.aborted) return 'interrupted';

    await step('Before → after');
    // Read back as any saved result is: checked to be what the steps wrote.
    const [explainBefore, explainAfter, loadBefore, loadAfter] = await Promise.all([
      readSavedResultOfKind(files.explainBefore, 'dbtune.explain', 'the demo\'s explain result'),
      readSavedResultOfKind(files.explainAfter, 'dbtune.explain', 'the demo\'s explain result'),
      readSavedResultOfKind(files.loadBefore, 'dbtune.loadtest', 'the demo\'s load result'),
      readSavedResultOfKind(files.loadAfter, 'dbtune.loadtest', 'the demo\'s load result'),
    ]);
    const summary = demoSummary(explainBefore, explainAfter, loadBefore, loadAfter, after);
    await writeOutputFile(path.join(dir, 'summary.json'), `${JSON.stringify(summary.document, null, 2)}\n`, "the demo's summary");
    await emitReport(summary, 'table', io);
    await write(io.stdout, `\nHTML report: ${report}\nSaved results: ${dir} (dbtune compare ${path.relative(process.cwd(), files.loadBefore)} ${path.relative(process.cwd(), files.loadAfter)})\n`);

    if (options.keep) await keepRunning(server, databaseUrl, target, urlFile, context);
    return 'ok' satisfies CommandOutcome;
  } finally {
    if (api) await stopApi(api);
    await server?.stop();
  }
};

async function createAndSeed(server: EmbeddedServer, size: ReturnType<typeof seedSize>, io: CommandContext['io'], signal: AbortSignal): Promise<void> {
  const admin = await connect(resolveConnectionOptions({ databaseUrl: server.url, env: {} }), { applicationName: 'dbtune demo' });
  try {
    await createDemoDatabase(admin);
  } finally {
    await admin.close();
  }
  const session = await connect(resolveConnectionOptions({ databaseUrl: server.urlFor(DEMO_DATABASE), env: {} }), { applicationName: 'dbtune demo' });
  try {
    // Seeding does not stop halfway: a Ctrl-C while the server started must not wait for it.
    if (signal.aborted) throw new DbtuneError('INTERRUPTED', 'interrupted before seeding');
    const total = Object.values(size).reduce((a, b) => a + b, 0);
    const started = performance.now();
    await write(io.stdout, `Seeding ${withThousands(total)} rows (users, conversations, messages, expenses, leads, events) with generate_series…\n`);
    await seedDemo(session, size);
    if (signal.aborted) throw new DbtuneError('INTERRUPTED', 'interrupted while seeding');
    await write(io.stdout, `Seeded in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`);
  } finally {
    await session.close();
  }
}

type ApiWorker = Worker & { port: number; exited: Promise<void> };

/** A worker thread ends with the process, so unlike the server it needs no entry in process/cleanups.ts. */
async function startApi(databaseUrl: string): Promise<ApiWorker> {
  const worker = new Worker(new URL('../demo/demo-api.js', import.meta.url), { workerData: { databaseUrl, poolSize: 20 } }) as ApiWorker;
  // Known from the start, so stopping a worker that already died does not wait for an event that came and went.
  worker.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
    void worker.exited.then(() => reject(new DbtuneError('INTERNAL', 'the demo API stopped before listening')));
  });
  return worker;
}

async function stopApi(worker: ApiWorker): Promise<void> {
  worker.postMessage('stop');
  const timer = setTimeout(() => void worker.terminate(), 5000);
  await worker.exited;
  clearTimeout(timer);
}

/** --keep: the database and the API stay up until Ctrl-C; the URL goes to a file (it holds a password), not the screen. */
async function keepRunning(server: EmbeddedServer, databaseUrl: string, target: string, urlFile: string, { io, signal }: CommandContext): Promise<void> {
  // Created anew, 0600: a file that was there (someone else's, maybe readable by others) is never reused.
  await createExclusiveFile(urlFile, `${databaseUrl}\n`, 'the --keep database URL');
  await write(
    io.stdout,
    `\nKept running (Ctrl-C stops both and deletes the data):\n  PostgreSQL ${server.major}: URL in ${urlFile}  →  psql "$(cat ${urlFile})"\n  demo API:   ${target}\n  try:        DATABASE_URL="$(cat ${urlFile})" npx dbtune verify indexes/demo.yaml\n`,
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
