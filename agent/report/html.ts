// report.html of a run: one self-contained page for the person who reads the results after an unattended
// night. Verdict first, then the failure's frame and what was read on it, the device against what was
// expected, the ESP over time, and every step with its frames. CSS, script, chart and thumbnails are all
// inside the file (no network, no fonts from outside); full-size frames are linked relative to the run
// folder, so the folder can be copied anywhere, and the page alone still shows its thumbnails.
import type { Report, Step } from './report.ts';
import { clock, esc } from './markup.ts';
import { espChartSvg, espLegend } from './esp-chart.ts';
import { FIELD_LABELS, RESULT_TITLES, compareField, failureStepIndex, offsetMs, textsOnFailureFrame, type Comparison } from './run-facts.ts';
import { PAGE_CSS, PAGE_SCRIPT } from './html-assets.ts';

/** Embedded copy of a frame (a data URI) at a width, or null to link the frame file itself. */
export type ImageSource = (frame: string, width: number) => string | null;

export const THUMB_WIDTH = 360;
export const FAILURE_WIDTH = 1280;

/** Every frame the page shows, with the width it embeds it at (for the thumbnail maker). */
export function framesShown(report: Report): { file: string; width: number }[] {
  const out = new Map<string, { file: string; width: number }>();
  for (const s of report.steps) {
    for (const f of [s.frameBefore, s.frameAfter]) if (f) out.set(`${f}|${THUMB_WIDTH}`, { file: f, width: THUMB_WIDTH });
  }
  const ff = report.failure?.frame;
  if (ff) out.set(`${ff}|${FAILURE_WIDTH}`, { file: ff, width: FAILURE_WIDTH });
  return [...out.values()];
}

export function renderHtml(report: Report, images: ImageSource = () => null): string {
  const title = `${RESULT_TITLES[report.result]}: ${report.station}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body class="result-${esc(report.result)}">
${verdictBanner(report)}
<main>
${report.failure ? failureSection(report, images) : ''}
${deviceSection(report)}
${espSection(report)}
${timelineSection(report, images)}
${filesSection()}
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

function verdictBanner(r: Report): string {
  const f = r.failure;
  const facts: [string, string][] = [
    ['Station', r.station],
    ['Flow', `${r.flow}${r.os ? ` (${r.os})` : ''}`],
    ['Started', humanTime(r.startedAt)],
    ['Took', clock(r.durationMs)],
    ['Steps', String(r.steps.length)],
    ['Attempts', String(r.attempts)],
  ];
  if (r.device.elapsed) facts.push(['Device elapsed', r.device.elapsed]);
  return `<header class="verdict" id="verdict">
  <div class="verdict-main">
    <div class="verdict-word" data-result="${esc(r.result)}">${esc(RESULT_TITLES[r.result])}</div>
    ${f ? `<p class="verdict-message">${esc(f.message)}${f.code && !f.message.includes(f.code) ? ` <code>${esc(f.code)}</code>` : ''}</p>`
      : `<p class="verdict-message">${esc(passedSummary(r))}</p>`}
  </div>
  <dl class="facts">${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
</header>`;
}

function passedSummary(r: Report): string {
  const org = r.device.organization ? ` for ${r.device.organization}` : '';
  const profile = r.device.profile ? ` with profile “${r.device.profile}”` : '';
  return `The device was provisioned${org}${profile}.`;
}

function failureSection(r: Report, images: ImageSource): string {
  const f = r.failure!;
  const read = textsOnFailureFrame(r);
  const at = failureStepIndex(r);
  const step = at >= 0 ? r.steps[at] : null;
  const frame = f.frame
    ? frameButton(f.frame, images(f.frame, FAILURE_WIDTH) ?? images(f.frame, THUMB_WIDTH), `The failure: ${f.frame}`, 'failure-frame')
    : '<p class="muted">No frame was captured (the failure came before the video did).</p>';
  const fields = step?.fields ? fieldList(step.fields) : '';
  return `<section class="card failure" id="failure">
  <h2>What went wrong</h2>
  <div class="failure-grid">
    <div>${frame}</div>
    <div>
      <dl class="kv">
        <dt>Category</dt><dd><span class="badge cat-${esc(f.category)}">${esc(f.category)}</span></dd>
        ${f.code ? `<dt>Error code</dt><dd><code>${esc(f.code)}</code></dd>` : ''}
        <dt>Message</dt><dd>${esc(f.message)}</dd>
        ${step ? `<dt>Step</dt><dd>#${at + 1} ${esc(step.screen)}: ${esc(step.action)}</dd>` : ''}
      </dl>
      ${fields}
      <h3>Read on this screen</h3>
      ${read.length ? `<ol class="read">${read.map((t) => `<li>${esc(t)}</li>`).join('')}</ol>` : '<p class="muted">Nothing was read on it.</p>'}
    </div>
  </div>
</section>`;
}

const COMPARISON_TEXT: Record<Comparison, string> = {
  match: 'matches',
  mismatch: 'differs',
  'not-read': 'not read',
  'not-checked': '',
};

function deviceSection(r: Report): string {
  const rows = FIELD_LABELS.map(([key, label]) => {
    const expected = r.expected[key];
    const seen = r.device[key];
    const c = compareField(expected, seen);
    return `<tr class="cmp-${c}"><th scope="row">${esc(label)}</th><td>${value(expected, 'not checked')}</td><td>${value(seen, 'not read')}</td><td class="cmp">${c === 'not-checked' ? '' : `<span>${esc(COMPARISON_TEXT[c])}</span>`}</td></tr>`;
  });
  const extra: string[] = [];
  if (r.device.elapsed) extra.push(`<tr><th scope="row">Elapsed on the device</th><td></td><td>${value(r.device.elapsed, '')}</td><td></td></tr>`);
  if (r.device.errorCode) extra.push(`<tr class="cmp-mismatch"><th scope="row">Error code</th><td></td><td><code>${esc(r.device.errorCode)}</code></td><td></td></tr>`);
  const mismatches = FIELD_LABELS.filter(([k]) => compareField(r.expected[k], r.device[k]) === 'mismatch').length;
  return `<section class="card" id="device">
  <h2>The device${mismatches ? ` <span class="badge cat-product">${mismatches} mismatch${mismatches > 1 ? 'es' : ''}</span>` : ''}</h2>
  <table class="compare">
    <thead><tr><th></th><th>Expected</th><th>Seen on the device</th><th></th></tr></thead>
    <tbody>${rows.join('')}${extra.join('')}</tbody>
  </table>
</section>`;
}

function value(v: string | null | undefined, missing: string): string {
  if (v === undefined || v === null) return missing ? `<span class="muted">${esc(missing)}</span>` : '';
  if (v === '') return '<span class="muted">(empty)</span>';
  return esc(v);
}

function espSection(r: Report): string {
  const svg = espChartSvg(r);
  if (!svg) return `<section class="card" id="esp"><h2>Enrollment Status Page</h2><p class="muted">The run did not reach the ESP.</p></section>`;
  const last = r.esp[r.esp.length - 1];
  const summary = last.phases.map((p) => `<li><b>${esc(p.name)}</b> <span class="state" data-state="${esc(p.state)}">${esc(p.state)}</span></li>`).join('');
  return `<section class="card" id="esp">
  <h2>Enrollment Status Page over time</h2>
  <p class="muted">${r.esp.length} reading${r.esp.length > 1 ? 's' : ''} of the ESP, on the agent's clock. Last seen:</p>
  <ul class="esp-last">${summary}</ul>
  <div class="chart-wrap">${svg}</div>
  <div class="legends">${espLegend(r)}</div>
</section>`;
}

function timelineSection(r: Report, images: ImageSource): string {
  const failAt = failureStepIndex(r);
  const rows = r.steps.map((s, i) => stepRow(r, s, i, i === failAt, images));
  return `<section class="card" id="steps">
  <h2>Steps <span class="muted">(${r.steps.length})</span></h2>
  ${r.steps.length ? `<table class="steps">
    <thead><tr><th>#</th><th>At</th><th>Screen</th><th>Action</th><th>Took</th><th>Frames (before, after)</th><th>Read</th></tr></thead>
    <tbody>${rows.join('\n')}</tbody>
  </table>` : '<p class="muted">No step was taken.</p>'}
</section>`;
}

function stepRow(r: Report, s: Step, i: number, failed: boolean, images: ImageSource): string {
  // What was read on the failing step is shown whole in the failure section; here it folds like the rest.
  const frames = [
    s.frameBefore ? frameButton(s.frameBefore, images(s.frameBefore, THUMB_WIDTH), `Step ${i + 1} · ${s.screen} · ${s.action} · before`, 'thumb') : '',
    s.frameAfter ? frameButton(s.frameAfter, images(s.frameAfter, THUMB_WIDTH), `Step ${i + 1} · ${s.screen} · ${s.action} · after`, 'thumb') : '',
  ].join('');
  const read = s.texts.length
    ? `<details><summary>${s.texts.length} line${s.texts.length > 1 ? 's' : ''}</summary><ol class="read">${s.texts.map((t) => `<li>${esc(t)}</li>`).join('')}</ol></details>`
    : '<span class="muted">nothing</span>';
  return `<tr class="step${failed ? ' failed' : ''}" id="step-${i + 1}">
  <td class="num">${i + 1}</td>
  <td class="num">+${clock(offsetMs(r, s))}</td>
  <td><span class="screen">${esc(s.screen)}</span></td>
  <td>${esc(s.action)}${s.note ? `<div class="muted">${esc(s.note)}</div>` : ''}${s.fields ? fieldList(s.fields) : ''}</td>
  <td class="num">${(s.ms / 1000).toFixed(1)} s</td>
  <td class="frames">${frames}</td>
  <td>${read}</td>
</tr>`;
}

function fieldList(fields: Record<string, unknown>): string {
  const items = Object.entries(fields).map(([k, v]) => {
    let text: string;
    if (k === 'qr' && v && typeof v === 'object') {
      const q = v as { ztdId?: string | null; serialNumber?: string | null };
      text = `ZtdId ${q.ztdId ?? '?'}, serial ${q.serialNumber ?? '?'}`;
    } else text = plain(v);
    return `<li><b>${esc(k)}</b> ${esc(text)}</li>`;
  });
  return items.length ? `<ul class="fields">${items.join('')}</ul>` : '';
}

/** A field's value as a person reads it: lists joined, objects as "key: value", nothing as "none". */
function plain(v: unknown): string {
  if (v === null || v === undefined) return 'none';
  if (typeof v === 'string') return v === '' ? '(empty)' : v;
  if (Array.isArray(v)) return v.length ? v.map(plain).join(', ') : 'none';
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries.map(([k, x]) => `${k}: ${plain(x)}`).join('; ') : 'none';
  }
  return String(v);
}

function frameButton(file: string, embedded: string | null, caption: string, cls: string): string {
  return `<button type="button" class="frame ${cls}" data-full="${esc(file)}" data-caption="${esc(caption)}" title="${esc(caption)}"><img src="${esc(embedded ?? file)}" alt="${esc(caption)}"${cls === 'thumb' ? ' width="180" height="101"' : ''}></button>`;
}

function filesSection(): string {
  const files = [
    ['report.json', 'the whole run as data'],
    ['junit.xml', 'for Jenkins and GitLab'],
    ['run.log', 'the agent’s log (pino JSON)'],
    ['frames/', 'every frame kept, full size'],
  ];
  return `<footer class="files">In this run folder: ${files.map(([f, what]) => `<a href="${esc(f)}">${esc(f)}</a> <span class="muted">${esc(what)}</span>`).join(' · ')}</footer>`;
}

function humanTime(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
