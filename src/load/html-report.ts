import { stripControl } from '../text/safe-text.js';
import type { LoadResult, StageResult, ThresholdResult } from '../model/load-result.js';
import type { StageDatabase, StatementTracking } from '../model/stage-database.js';
import { rolesCell, trackingCell } from './load-report.js';

/**
 * A self-contained HTML report of a load test: one file with inline CSS and one
 * inline script, no network at view time, so it opens from file:// or a CI
 * artifact. Header and tables are rendered here (readable without JavaScript);
 * the script draws the charts as inline SVG from the embedded JSON.
 *
 * With a baseline, stages pair by index when both ran with the same users;
 * unpaired stages are shown without a comparison.
 */
export function renderHtmlReport(result: LoadResult, baseline?: LoadResult): string {
  const pairs = pairStages(result, baseline);
  const ctx = result.context;
  const verdict = result.interrupted ? 'interrupted' : result.passed ? 'passed' : 'failed';
  const data = { result, baseline: baseline ?? null, pairs: pairs.map((p, i) => (p ? i : null)) };
  const header = [
    ['Target', esc(ctx.target)],
    ['Started', esc(ctx.started_at)],
    ['Verdict', `<span class="badge ${verdict}">${verdict}</span>`],
    ['Max sustained users', String(result.max_sustained_users)],
    ...(baseline ? [['Baseline', `${esc(baseline.context.scenario)}, started ${esc(baseline.context.started_at)}`]] : []),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dbtune load test: ${esc(ctx.scenario)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Load test: <span class="scenario">${esc(ctx.scenario)}</span></h1>
<dl>${header.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
${result.warnings.length ? `<ul class="warnings">${result.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}</header>
<section><h2>Latency by stage</h2><div class="chart" id="latency-chart"></div></section>
<section><h2>Stages</h2>${summaryTable(result.stages, pairs)}</section>
${result.stages.map((s) => stageSection(s)).join('\n')}
<script type="application/json" id="dbtune-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/** The baseline stage each stage compares with: same position, same users, and it measured something. */
function pairStages(result: LoadResult, baseline?: LoadResult): Array<StageResult | undefined> {
  return result.stages.map((stage, i) => {
    const before = baseline?.stages[i];
    return before && before.users === stage.users && !before.skipped && before.requests > 0 ? before : undefined;
  });
}

function summaryTable(stages: StageResult[], pairs: Array<StageResult | undefined>): string {
  const withWas = (now: string, was: string | undefined) => (was === undefined ? now : `${now} <span class="was">was ${was}</span>`);
  const rows = stages.map((s, i) => {
    const before = pairs[i];
    if (s.requests === 0) return [String(s.stage), String(s.users), `<span class="badge ${stageStatus(s)}">${stageStatus(s)}</span>`, '0', ...Array<string>(6).fill('—')];
    return [
      String(s.stage),
      String(s.users),
      `<span class="badge ${stageStatus(s)}">${stageStatus(s)}</span>`,
      String(s.requests),
      withWas(s.rps.toFixed(1), before?.rps.toFixed(1)),
      pct(s.success_rate),
      ...(['p50', 'p95', 'p99'] as const).map((p) => withWas(ms(s.latency[p]), before && ms(before.latency[p]))),
      esc(errorList(s.errors)),
    ];
  });
  return table(['Stage', 'Users', 'Status', 'Requests', 'RPS', 'Success', 'p50', 'p95', 'p99', 'Errors'], rows, 'summary');
}

function stageSection(s: StageResult): string {
  const notes = [
    s.ended_early ? `Ended early: ${esc(s.ended_early)}` : '',
    s.generator?.saturated ? `Load generator saturated (event loop ${Math.round((s.generator.event_loop_utilization ?? 0) * 100)}% busy, timers late by ${ms(s.generator.timers_late_p99_ms ?? s.generator.event_loop_p99_ms)} at p99, median latency ${ms(s.latency.p50)}): numbers may describe dbtune rather than the target.` : '',
  ].filter(Boolean);
  const share = (name: string) => {
    const m = s.mix?.find((x) => x.name === name);
    return m ? `${pct(m.share)} (${pct(m.declared)})` : '–';
  };
  const requests = s.by_request.map((r) => [esc(r.name), String(r.requests), share(r.name), pct(r.success_rate), r.rps.toFixed(1), ms(r.latency.p50), ms(r.latency.p95), ms(r.latency.p99), esc(errorList(r.errors))]);
  return `<section class="stage"><h2>Stage ${s.stage} · ${s.users} users <span class="badge ${stageStatus(s)}">${stageStatus(s)}</span></h2>
${notes.map((n) => `<p class="note">${n}</p>`).join('')}
${s.skipped ? '<p>Skipped: nothing was measured.</p>' : `<h3>Requests and failures per second</h3>
${s.timeline.length ? `<div class="chart" data-timeline="${s.stage - 1}"></div>` : '<p>No timeline recorded.</p>'}
${s.thresholds.length ? `<h3>Thresholds</h3>${thresholdTable(s.thresholds)}` : ''}
${requests.length ? `<h3>Requests</h3>${table(['Request', 'Sent', 'Share (declared)', 'Success', 'RPS', 'p50', 'p95', 'p99', 'Errors'], requests)}` : ''}
${databasePanel(s.database)}`}</section>`;
}

function thresholdTable(thresholds: ThresholdResult[]): string {
  const rows = thresholds.map((t) => [
    esc(t.name) + (t.default ? ' <span class="was">(default)</span>' : ''),
    esc(t.limit),
    esc(t.observed),
    `<span class="badge ${t.passed ? 'passed' : 'failed'}">${t.passed ? 'pass' : 'fail'}</span>`,
  ]);
  return table(['Threshold', 'Limit', 'Observed', 'Result'], rows);
}

/**
 * `database` has no fixed shape yet: top-level scalars as key/value, arrays of objects as tables, the rest skipped;
 * whose statements were counted, what pg_stat_statements lost, and the notes are said first.
 */
function databasePanel(db: unknown): string {
  if (!isRecord(db)) return '';
  const said = [
    Array.isArray(db.roles) ? `Statements counted: ${esc(rolesCell(db as unknown as StageDatabase))}` : '',
    isRecord(db.statement_tracking) ? `pg_stat_statements: ${esc(trackingCell(db.statement_tracking as unknown as StatementTracking))}` : '',
    ...(Array.isArray(db.notes) ? db.notes.filter((n): n is string => typeof n === 'string').map(esc) : []),
  ].filter(Boolean);
  const lead = said.map((line) => `<p class="note">${line}</p>`).join('');
  const scalars = Object.entries(db).filter(([, v]) => isScalar(v));
  const tables = Object.entries(db).filter((e): e is [string, Record<string, unknown>[]] => Array.isArray(e[1]) && e[1].length > 0 && e[1].every(isRecord));
  if (!scalars.length && !tables.length && !lead) return '';
  const kv = scalars.length ? `<dl class="kv">${scalars.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(String(v))}</dd>`).join('')}</dl>` : '';
  const shown = 20;
  const tablesHtml = tables.map(([name, rows]) => {
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => isScalar(r[k]))))];
    const body = rows.slice(0, shown).map((r) => columns.map((c) => (isScalar(r[c]) ? esc(String(r[c])) : '')));
    const more = rows.length > shown ? `<p class="was">… ${rows.length - shown} more</p>` : '';
    return `<h4>${esc(name)}</h4>${table(columns.map(esc), body)}${more}`;
  });
  return `<div class="database"><h3>Database</h3>${lead}${kv}${tablesHtml.join('')}</div>`;
}

/** A table from header and cell HTML; callers escape what they pass. */
function table(headers: string[], rows: string[][], cls = ''): string {
  const head = `<tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr>`;
  return `<table${cls ? ` class="${cls}"` : ''}><thead>${head}</thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const stageStatus = (s: StageResult) => (s.skipped ? 'skipped' : s.interrupted ? 'interrupted' : s.passed ? 'passed' : 'failed');
const errorList = (errors: Record<string, number>) => Object.entries(errors).map(([kind, n]) => `${kind}: ${n}`).join(', ');
const ms = (v: number) => `${v.toFixed(1)} ms`;
const pct = (rate: number) => `${(rate * 100).toFixed(2)}%`;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

function esc(text: string): string {
  return stripControl(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;margin:0 auto;padding:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:16px 0 6px}h4{margin:10px 0 4px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dt{color:#59636e}dd{margin:0}
table{border-collapse:collapse;margin:4px 0 8px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #d1d9e0;padding:4px 10px;text-align:right;vertical-align:top}th{background:#f6f8fa}
td:first-child,th:first-child,td:last-child{text-align:left}
.badge{border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;background:#59636e}
.badge.passed{background:#1a7f37}.badge.failed{background:#cf222e}.badge.interrupted{background:#9a6700}
.was{color:#59636e;font-size:12px}.note,.warnings{color:#9a6700}.database{background:#f6f8fa;padding:4px 12px;border-radius:6px}
.chart svg{width:100%;max-width:760px;height:auto;display:block}.chart text{font-size:11px;fill:#59636e}.chart .axis{stroke:#8c959f}
.chart .grid{stroke:#eaeef2}.chart .line{fill:none;stroke:#0969da;stroke-width:2}`;

// Plain ES5-style JavaScript for the browser: DOM APIs only (textContent, never
// innerHTML), so names from the scenario file cannot become markup.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg', W = 720, H = 280, M = { l: 56, r: 52, t: 34, b: 46 };
  var COLORS = { p50: '#0969da', p95: '#8250df', p99: '#bf3989', failures: '#cf222e', requests: '#0969da' };
  var drawn = 0;
  try {
    var data = JSON.parse(document.getElementById('dbtune-data').textContent);
    var stages = data.result.stages;
    var groups = [];
    stages.forEach(function (s, i) {
      if (s.skipped || s.requests === 0) return;
      var before = data.pairs[i] === null ? null : data.baseline.stages[data.pairs[i]];
      var bars = [];
      ['p50', 'p95', 'p99'].forEach(function (p) {
        if (before) bars.push({ value: before.latency[p], color: COLORS[p], opacity: 0.4, title: 'baseline ' + p + ': ' + fmt(before.latency[p]) + ' ms' });
        bars.push({ value: s.latency[p], color: COLORS[p], opacity: 1, title: p + ': ' + fmt(s.latency[p]) + ' ms' });
      });
      groups.push({ label: 'stage ' + s.stage + ' · ' + s.users + ' users', bars: bars });
    });
    var legend = [{ label: 'p50', color: COLORS.p50 }, { label: 'p95', color: COLORS.p95 }, { label: 'p99', color: COLORS.p99 }];
    if (data.pairs.some(function (p) { return p !== null; })) legend.push({ label: 'baseline (lighter)', color: '#8c959f', opacity: 0.4 });
    var latency = document.getElementById('latency-chart');
    if (groups.length) { barChart(latency, 'latency', groups, 'latency (ms)', legend); drawn++; }
    else latency.textContent = 'No stage measured any requests.';
    stages.forEach(function (s, i) {
      var box = document.querySelector('[data-timeline="' + i + '"]');
      if (box && s.timeline.length) { timelineChart(box, 'timeline-' + s.stage, s.timeline); drawn++; }
    });
    document.body.dataset.chartsDrawn = String(drawn);
  } catch (e) {
    document.body.dataset.renderError = String(e && e.message || e);
    throw e;
  }

  function el(parent, name, attrs, text) {
    var node = document.createElementNS(SVG_NS, name);
    for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  function fmt(v) { return Math.abs(v) >= 100 || v === Math.round(v) ? String(Math.round(v)) : v.toFixed(1); }
  /** Ticks from 0 to a round maximum at or above max (1, 2 or 5 times a power of ten, at least minStep). */
  function ticks(max, minStep) {
    if (!(max > 0)) max = 1;
    var raw = Math.max(max / 5, minStep || 0), pow = Math.pow(10, Math.floor(Math.log10(raw))), step = pow;
    [1, 2, 5, 10].some(function (m) { step = m * pow; return raw <= step; });
    var out = [];
    for (var v = 0; v < max + step / 2; v += step) out.push(v);
    if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
    return out;
  }
  function scale(yTicks) {
    var top = yTicks[yTicks.length - 1];
    return function (v) { return H - M.b - (v / top) * (H - M.t - M.b); };
  }
  function axisLabel(svg, x, text) {
    el(svg, 'text', { x: x, y: (H - M.b + M.t) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 ' + x + ' ' + (H - M.b + M.t) / 2 + ')' }, text);
  }
  /** An SVG with a y axis (and optionally a right one), grid and legend; returns it with the y scales. */
  function frame(box, name, yTicks, yLabel, legend, right) {
    var svg = el(box, 'svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'data-chart': name });
    var y = scale(yTicks), y2 = right && scale(right.ticks);
    yTicks.forEach(function (v) {
      el(svg, 'line', { 'class': 'grid', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) });
      el(svg, 'text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v));
    });
    el(svg, 'line', { 'class': 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b });
    el(svg, 'line', { 'class': 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b });
    axisLabel(svg, 14, yLabel);
    if (right) {
      el(svg, 'line', { 'class': 'axis', x1: W - M.r, x2: W - M.r, y1: M.t, y2: H - M.b });
      right.ticks.forEach(function (v) { el(svg, 'text', { x: W - M.r + 6, y: y2(v) + 4, style: 'fill:' + right.color }, fmt(v)); });
      axisLabel(svg, W - 12, right.label);
    }
    var lx = M.l;
    legend.forEach(function (item) {
      el(svg, 'rect', { x: lx, y: 8, width: 12, height: 12, fill: item.color, 'fill-opacity': item.opacity || 1 });
      el(svg, 'text', { x: lx + 16, y: 18 }, item.label);
      lx += 28 + item.label.length * 6.5;
    });
    return { svg: svg, y: y, y2: y2 };
  }
  function barChart(box, name, groups, yLabel, legend) {
    var max = 0;
    groups.forEach(function (g) { g.bars.forEach(function (b) { max = Math.max(max, b.value); }); });
    var f = frame(box, name, ticks(max), yLabel, legend);
    var slot = (W - M.l - M.r) / groups.length;
    groups.forEach(function (g, gi) {
      var bw = Math.min(28, (slot * 0.8) / g.bars.length), x0 = M.l + gi * slot + (slot - bw * g.bars.length) / 2;
      g.bars.forEach(function (b, bi) {
        var top = f.y(b.value);
        var r = el(f.svg, 'rect', { 'class': 'bar', x: x0 + bi * bw, y: top, width: Math.max(bw - 2, 1), height: H - M.b - top, fill: b.color, 'fill-opacity': b.opacity });
        el(r, 'title', {}, b.title);
      });
      el(f.svg, 'text', { x: M.l + (gi + 0.5) * slot, y: H - M.b + 16, 'text-anchor': 'middle' }, g.label);
    });
  }
  /**
   * Requests per second as a line (left axis); failures per second, when there are any, as
   * bars on their own right axis up to half height, since a few failures would not show at
   * the scale of the requests. Each point closes the second [t-1, t].
   */
  function timelineChart(box, name, points) {
    // Points close ~1 s buckets but the last one is usually partial: plot rates, and leave
    // out a last bucket too short to give a meaningful one.
    var prev = 0;
    points = points.map(function (p) {
      var dt = Math.max(p.t - prev, 0.001);
      prev = p.t;
      return { t: p.t, dt: dt, requests: p.requests / dt, failures: p.failures / dt };
    }).filter(function (p, i, all) { return i < all.length - 1 || all.length === 1 || p.dt >= 0.25; });
    var max = 0, maxFail = 0, t0 = Infinity, t1 = -Infinity;
    points.forEach(function (p) { max = Math.max(max, p.requests); maxFail = Math.max(maxFail, p.failures); t0 = Math.min(t0, p.t - 1); t1 = Math.max(t1, p.t); });
    var legend = [{ label: 'requests/s', color: COLORS.requests }, { label: maxFail ? 'failures/s (right axis)' : 'no failures', color: COLORS.failures }];
    var right = maxFail ? { ticks: ticks(maxFail * 2, 1), label: 'failures/s', color: COLORS.failures } : undefined;
    var f = frame(box, name, ticks(max), 'requests/s', legend, right);
    var x = function (t) { return M.l + ((t - t0) / (t1 - t0)) * (W - M.l - M.r); };
    var bw = Math.max(x(t0 + 1) - x(t0) - 2, 1);
    points.forEach(function (p) {
      if (p.failures <= 0) return;
      var r = el(f.svg, 'rect', { 'class': 'bar', x: x(p.t) - bw - 1, y: f.y2(p.failures), width: bw, height: H - M.b - f.y2(p.failures), fill: COLORS.failures, 'fill-opacity': 0.5 });
      el(r, 'title', {}, p.t + ' s: ' + p.failures + ' failures');
    });
    var d = points.map(function (p, i) { return (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + f.y(p.requests).toFixed(1); }).join(' ');
    el(f.svg, 'path', { 'class': 'line', d: d });
    if (points.length === 1) el(f.svg, 'circle', { 'class': 'dot', cx: x(points[0].t), cy: f.y(points[0].requests), r: 4, fill: COLORS.requests });
    ticks(t1 - t0, 1).forEach(function (v) {
      if (t0 + v > t1) return;
      el(f.svg, 'text', { x: x(t0 + v), y: H - M.b + 16, 'text-anchor': 'middle' }, fmt(t0 + v));
    });
    el(f.svg, 'text', { x: (M.l + W - M.r) / 2, y: H - 8, 'text-anchor': 'middle' }, 'seconds since stage start');
  }
})();
`;
