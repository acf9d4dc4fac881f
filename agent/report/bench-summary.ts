// The bench summary: what a lab reads in the morning after a night of many stations. summary.json (the
// data), junit.xml with one <testsuite> per station (its steps as test cases, read from the station's
// report.json) and index.html, a table of verdicts linking each station's report.html.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Category } from '../engine/errors.ts';
import type { Report, Result } from './report.ts';
import { readReport, writeFileAtomic } from './report.ts';
import { junitDocument, stationWithoutReportXml, suiteXml, type Suite } from './junit.ts';
import { clock, esc } from './markup.ts';
import { maskDeep } from './secrets.ts';
import { RESULT_TITLES } from './run-facts.ts';
import { BASE_CSS } from './html-assets.ts';

export interface BenchStationSummary {
  name: string;
  /** 'skipped': the station was not run (marked bad by its self-test, or in maintenance). */
  result: Result | 'skipped';
  category?: Category;
  message?: string;
  /** The station's run folder, relative to the bench summary's folder. */
  reportDir: string;
  durationMs: number;
  /** Station health when the bench ran: good, bad, maintenance. */
  health?: string;
  /** A resumed bench (--resume): the run went on from its journal (`resumed`), or had finished before (`kept`). */
  resume?: 'resumed' | 'kept';
}

export interface BenchSummary {
  bench: string;
  /** ISO time the bench started. */
  startedAt: string;
  durationMs: number;
  /** ISO time a bench process went on with this bench after the one before stopped (--resume). */
  resumedAt?: string;
  stations: BenchStationSummary[];
}

export interface BenchSummaryFiles { json: string; junit: string; html: string }

/** Writes summary.json, junit.xml and index.html into `dir`, each atomically. */
export function writeBenchSummary(dir: string, summary: BenchSummary): BenchSummaryFiles {
  mkdirSync(dir, { recursive: true });
  const safe = maskDeep(summary);
  const reports = safe.stations.map((s) => readStationReport(dir, s));
  const files = { json: join(dir, 'summary.json'), junit: join(dir, 'junit.xml'), html: join(dir, 'index.html') };
  writeFileAtomic(files.json, `${JSON.stringify(safe, null, 2)}\n`);
  writeFileAtomic(files.junit, renderBenchJunit(safe, reports));
  writeFileAtomic(files.html, renderBenchHtml(safe, reports));
  return files;
}

/** A half-written or broken report is null: the station still gets a suite from the summary. */
function readStationReport(dir: string, s: BenchStationSummary): Report | null {
  const report = readReport(join(dir, s.reportDir));
  return report && maskDeep(report);
}

export function renderBenchJunit(summary: BenchSummary, reports: (Report | null)[]): string {
  const suites: Suite[] = summary.stations.map((s, i) => {
    const r = reports[i];
    if (r && s.result !== 'skipped') return suiteXml(r, { name: s.name, classPrefix: s.name });
    return stationWithoutReportXml(s.name, summary.startedAt, s);
  });
  return junitDocument(suites, summary.bench, summary.durationMs);
}

// Worst first: the bench's colour is that of its worst verdict, a device saying no before a broken part.
const ORDER: Record<BenchStationSummary['result'], number> = { product: 0, flow: 1, infrastructure: 2, skipped: 3, passed: 4 };

const RESUME_NOTES = { resumed: '(went on from its journal after the bench stopped)', kept: '(had finished before the bench stopped)' } as const;

export function renderBenchHtml(summary: BenchSummary, reports: (Report | null)[]): string {
  const counts = new Map<string, number>();
  for (const s of summary.stations) counts.set(s.result, (counts.get(s.result) ?? 0) + 1);
  const passed = counts.get('passed') ?? 0;
  const total = summary.stations.length;
  const worst = [...summary.stations].sort((a, b) => ORDER[a.result] - ORDER[b.result])[0]?.result ?? 'passed';
  const verdict = passed === total ? 'passed' : worst === 'skipped' ? 'skipped' : worst;
  const chips = [...counts.entries()]
    .sort((a, b) => ORDER[a[0] as BenchStationSummary['result']] - ORDER[b[0] as BenchStationSummary['result']])
    .map(([k, n]) => `<span class="badge cat-${esc(k)}">${n} ${esc(k)}</span>`).join(' ');
  const rows = summary.stations.map((s, i) => {
    const link = `${s.reportDir.replace(/\/+$/, '')}/report.html`;
    const title = s.result === 'skipped' ? 'Skipped' : RESULT_TITLES[s.result];
    const r = reports[i];
    const seen = r && s.result === 'passed' ? [r.device.organization, r.device.profile].filter(Boolean).join(' · ') : '';
    return `<tr class="row-${esc(s.result)}">
  <th scope="row">${esc(s.name)}</th>
  <td><span class="badge cat-${esc(s.result)}">${esc(title)}</span></td>
  <td>${esc(s.message ?? r?.failure?.message ?? seen)}${s.resume ? ` <span class="muted">${RESUME_NOTES[s.resume]}</span>` : ''}</td>
  <td class="num">${esc(clock(s.durationMs))}</td>
  <td>${s.health ? `<span class="health health-${esc(s.health)}">${esc(s.health)}</span>` : ''}</td>
  <td>${r ? `<a href="${esc(link)}">report</a>` : '<span class="muted">no report</span>'}</td>
</tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${summary.bench}: ${passed} of ${total} passed`)}</title>
<style>${BASE_CSS}
.bench-verdict { background: var(--${verdict === 'passed' ? 'passed' : verdict}); }
.bench-verdict .badge { border: 1px solid rgba(255,255,255,.7); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 9px 12px; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.row-product, tr.row-flow, tr.row-infrastructure { background: #fff7f6; }
.health { font-size: 12px; font-weight: 650; padding: 1px 8px; border-radius: 999px; background: #dde3ea; }
.health-good { background: #dcefdc; color: #1e5e22; } .health-bad { background: #f9d7d4; color: #8c1d18; }
.health-maintenance { background: #fff0c7; color: #6b4b00; }
</style>
</head>
<body>
<header class="verdict bench-verdict">
  <div class="verdict-word" data-result="${esc(verdict)}">${passed} of ${total} passed</div>
  <p class="verdict-message">${esc(summary.bench)} · started ${esc(summary.startedAt.slice(0, 19).replace('T', ' '))} UTC${summary.resumedAt ? ` · resumed ${esc(summary.resumedAt.slice(0, 19).replace('T', ' '))} UTC, after its process stopped` : ''} · took ${esc(clock(summary.durationMs))}</p>
  <p>${chips}</p>
</header>
<main>
<section class="card">
  <table class="stations">
    <thead><tr><th>Station</th><th>Verdict</th><th>What happened</th><th>Took</th><th>Health</th><th></th></tr></thead>
    <tbody>${rows.join('\n')}</tbody>
  </table>
</section>
</main>
<footer class="files">In this folder: <a href="summary.json">summary.json</a> · <a href="junit.xml">junit.xml</a></footer>
</body>
</html>
`;
}
