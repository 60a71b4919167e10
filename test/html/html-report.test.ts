import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/load/html-report.js';
import type { LoadResult, StageResult, TimelinePoint } from '../../src/model/load-result.js';
import type { StageDatabaseOutcome } from '../../src/model/stage-database.js';

/**
 * Opens the report in a real headless Chromium and reads back the DOM after
 * the inline script ran. Without Chromium on PATH these tests are skipped with
 * a warning, so `npm test` works on a machine with only Node; in CI (`CI` or
 * DBTUNE_TEST_REQUIRE_BROWSER set) a missing Chromium fails them. `.ci/run`
 * installs it.
 */

const SCENARIO = 'checkout </script><b>x</b> & "friends"';
const TARGET = 'http://localhost:8080/api';

function timeline(seconds: number, rps: number, failEvery: number): TimelinePoint[] {
  return Array.from({ length: seconds }, (_, i) => ({
    t: i + 1,
    requests: rps + ((i * 7) % 5) - 2,
    failures: failEvery && i % failEvery === 0 ? 1 + (i % 3) : 0,
    p50: 12 + i * 0.3,
    p95: 40 + i,
    p99: 80 + i * 2,
  }));
}

function stage(n: number, users: number, scale: number, skipped = false): StageResult {
  const latency = { min: 2, p50: 12 * scale, p90: 30 * scale, p95: 41 * scale, p99: 85 * scale, max: 210 * scale, mean: 16 * scale };
  const requests = skipped ? 0 : 1000 * n;
  const stats = (name: string, share: number) => ({
    name,
    requests: requests * share,
    successes: requests * share - 3,
    failures: 3,
    rps: 100 * n * share,
    success_rate: 0.997,
    latency,
    errors: { http_500: 2, timeout: 1 },
    bytes: 51_200,
  });
  return {
    stage: n,
    users,
    duration_s: 10,
    measured_s: skipped ? 0 : 10,
    passed: !skipped && n === 1,
    skipped,
    ...(skipped ? { ended_early: 'a previous stage failed <i>its</i> thresholds' } : {}),
    requests,
    successes: skipped ? 0 : requests - 6,
    failures: skipped ? 0 : 6,
    rps: skipped ? 0 : 100 * n,
    success_rate: skipped ? 0 : 0.994,
    latency: skipped ? { min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 } : latency,
    errors: skipped ? {} : { http_500: 4, timeout: 2 },
    bytes: skipped ? 0 : 102_400,
    thresholds: skipped
      ? []
      : [
          { name: 'success_rate', limit: '99%', observed: '99.4%', passed: true, default: true },
          { name: 'p95', limit: '50ms', observed: `${(41 * scale).toFixed(1)}ms`, passed: 41 * scale <= 50 },
        ],
    by_request: skipped ? [] : [stats('GET /products/<id>', 0.5), stats('POST /cart', 0.5)],
    timeline: skipped ? [] : timeline(10, 100 * n, n === 2 ? 3 : 0),
    ...(skipped
      ? {}
      : {
          // Any shape renders (a result saved by another version): scalars, tables, the rest skipped.
          database: {
            xact_commit: 1234 * n,
            cache_hit_ratio: 0.998,
            nested: { ignored: true },
            top_statements: [
              { query: 'select * from products where id = $1', calls: 900, mean_ms: 0.4 },
              { query: 'insert into cart values ($1, $2)', calls: 120, mean_ms: 1.2 },
            ],
          } as unknown as StageDatabaseOutcome,
        }),
  };
}

function fixture(): LoadResult {
  return {
    kind: 'dbtune.loadtest',
    format_version: 1,
    passed: false,
    interrupted: false,
    max_sustained_users: 10,
    stages: [stage(1, 10, 1), stage(2, 20, 1.4), stage(3, 40, 1, true)],
    context: {
      saved_at: '2025-11-23T10:00:10Z',
      dbtune_version: '0.1.0',
      scenario: SCENARIO,
      scenario_file: 'scenarios/checkout.yaml',
      target: TARGET,
      started_at: '2025-11-23T10:00:00Z',
      timeout_ms: 5000,
    },
    warnings: ['stage 2: load generator <busy>'],
  };
}

/** Two stages to the run's three, and the second with other users: only stage 1 pairs. */
function baselineFixture(): LoadResult {
  const base = fixture();
  return { ...base, passed: true, stages: [stage(1, 10, 1.6), stage(2, 25, 2)], context: { ...base.context, started_at: '2025-11-22T09:00:00Z' } };
}

function findBrowser(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

interface Page {
  dom: string;
  stderr: string;
}

function dumpDom(browser: string, file: string, profile: string): Promise<Page> {
  const args = [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--no-first-run', '--no-default-browser-check', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
    '--virtual-time-budget=5000', '--dump-dom', pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    execFile(browser, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${browser} failed: ${error.message}\n${stderr.slice(-2000)}`, { cause: error }));
      else resolve({ dom: stdout, stderr });
    });
  });
}

/** Console messages (`INFO:CONSOLE:12] "Uncaught …"`); dbus/GPU noise on stderr is not the page's. */
const consoleLines = (stderr: string) => stderr.split('\n').filter((l) => /CONSOLE[:(]|Uncaught/.test(l));

const attr = (tag: string, name: string) => Number(new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? NaN);

/** Each `<svg data-chart=…>` with its data marks that have a visible size. */
function charts(dom: string): Array<{ name: string; bars: number; lines: number }> {
  return [...dom.matchAll(/<svg[^>]*data-chart="([^"]+)"[^>]*>([\s\S]*?)<\/svg>/g)].map(([, name, inner]) => ({
    name: name!,
    bars: [...inner!.matchAll(/<rect[^>]*class="bar"[^>]*>/g)].filter(([tag]) => attr(tag, 'width') > 0 && attr(tag, 'height') > 0).length,
    lines: [...inner!.matchAll(/<path[^>]*class="line"[^>]*d="M[^"]+"/g)].length,
  }));
}

describe('renderHtmlReport', () => {
  const html = renderHtmlReport(fixture(), baselineFixture());

  it('embeds the data so that no name can close the script', () => {
    const data = /<script type="application\/json" id="dbtune-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    expect(data).toBeDefined();
    expect(data).not.toContain('<');
    expect(JSON.parse(data!).result.context.scenario).toBe(SCENARIO);
  });

  it('loads nothing from the network: no src/href, and URLs only in the data and the target', () => {
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    const outsideData = html.replace(/<script type="application\/json" id="dbtune-data">[\s\S]*?<\/script>/, '');
    const urls = [...outsideData.matchAll(/https?:\/\/[^\s"'<)]+/g)].map(([u]) => u);
    // The SVG namespace is an identifier for createElementNS, never fetched.
    expect(new Set(urls)).toEqual(new Set([TARGET, 'http://www.w3.org/2000/svg']));
  });
});

const browser = findBrowser();
const browserRequired = Boolean(process.env.CI || process.env.DBTUNE_TEST_REQUIRE_BROWSER);
const skipBrowser = !browser && (process.env.DBTUNE_TEST_SKIP_BROWSER === '1' || !browserRequired);
if (skipBrowser) console.warn('HTML report tests skipped: no Chromium on PATH (apt-get install chromium to run them)');

describe.skipIf(skipBrowser)('HTML report in headless Chromium', () => {
  let dir = '';
  let page: Page;
  let broken: Page;

  beforeAll(async () => {
    if (!browser) throw new Error('No Chromium found on PATH (chromium, chromium-browser, google-chrome): run `apt-get install chromium` (CI requires it: CI or DBTUNE_TEST_REQUIRE_BROWSER is set).');
    dir = await mkdtemp(join(tmpdir(), 'dbtune-html-'));
    const html = renderHtmlReport(fixture(), baselineFixture());
    // Negative control: the same page with its data broken must be caught by the same checks.
    const brokenHtml = html.replace(/(<script type="application\/json" id="dbtune-data">)[\s\S]*?(<\/script>)/, '$1{$2');
    await writeFile(join(dir, 'report.html'), html);
    await writeFile(join(dir, 'broken.html'), brokenHtml);
    [page, broken] = await Promise.all([
      dumpDom(browser, join(dir, 'report.html'), join(dir, 'profile-report')),
      dumpDom(browser, join(dir, 'broken.html'), join(dir, 'profile-broken')),
    ]);
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('draws every chart without errors', () => {
    expect(page.dom).toContain('data-charts-drawn="3"');
    expect(page.dom).not.toContain('data-render-error');
    expect(consoleLines(page.stderr)).toEqual([]);
  });

  it('the charts hold drawn marks: latency bars (before/after for the paired stage), rps lines and failure bars', () => {
    const drawn = charts(page.dom);
    expect(drawn.map((c) => c.name)).toEqual(['latency', 'timeline-1', 'timeline-2']);
    // Stage 1 pairs with the baseline (2 × p50/p95/p99); stage 2 ran 20 users vs 25, so only its own 3.
    expect(drawn[0]).toMatchObject({ bars: 9, lines: 0 });
    expect(drawn[1]).toMatchObject({ bars: 0, lines: 1 });
    // Stage 2 fails every third second of ten: seconds 1, 4, 7, 10.
    expect(drawn[2]).toMatchObject({ bars: 4, lines: 1 });
  });

  it('shows the scenario name as text and injects no markup from it', () => {
    expect(page.dom).toContain('checkout &lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &amp; "friends"');
    expect(page.dom).not.toMatch(/<b>x/);
    expect(page.dom).not.toMatch(/<i>its/);
  });

  it('negative control: a page whose script fails is detected', () => {
    expect(broken.dom).toMatch(/data-render-error="[^"]+"/);
    expect(broken.dom).not.toContain('data-charts-drawn');
    expect(consoleLines(broken.stderr).some((l) => l.includes('Uncaught'))).toBe(true);
  });
});
