// The ESP as a chart of time for report.html: one row per phase and per item, bars coloured by the state
// read on screen, over the agent's clock. Inline SVG, so the page needs nothing from outside.
import type { Report } from './report.ts';
import { clock, esc } from './markup.ts';

export const STATE_COLOURS: Record<string, string> = {
  complete: '#2e7d32',
  'in-progress': '#1565c0',
  waiting: '#9aa5b1',
  error: '#c62828',
  'not-started': '#dde3ea',
  unknown: '#b0a48c',
};

interface Segment { from: number; to: number; state: string }
interface Row { label: string; phase: boolean; segments: Segment[] }

/** Spans of time the agent watched the ESP (one per attempt), from its steps; the samples when none. */
function windows(report: Report): [number, number][] {
  const end = Date.parse(report.startedAt) + report.durationMs;
  const spans = report.steps
    .filter((s) => s.screen === 'esp')
    .map((s, i, all): [number, number] => {
      const from = Date.parse(s.at);
      const last = i === all.length - 1 && s === report.steps[report.steps.length - 1];
      return [from, s.ms > 0 ? from + s.ms : last ? end : from];
    });
  const times = report.esp.map((e) => Date.parse(e.at));
  if (!spans.length && times.length) spans.push([Math.min(...times), Math.max(...times)]);
  // A sample outside every span (clocks, a step not closed) widens the nearest span to hold it.
  for (const t of times) {
    if (spans.some(([a, b]) => t >= a && t <= b)) continue;
    let best = 0;
    spans.forEach(([a, b], i) => { if (Math.abs(t - (a + b) / 2) < Math.abs(t - (spans[best][0] + spans[best][1]) / 2)) best = i; });
    spans[best] = [Math.min(spans[best][0], t), Math.max(spans[best][1], t)];
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

function rows(report: Report, spans: [number, number][]): Row[] {
  const byName = new Map<string, Row>();
  const order: Row[] = [];
  const rowFor = (label: string, phase: boolean, key: string) => {
    let r = byName.get(key);
    if (!r) { r = { label, phase, segments: [] }; byName.set(key, r); }
    return r;
  };
  const samples = report.esp.map((e) => ({ t: Date.parse(e.at), phases: e.phases })).sort((a, b) => a.t - b.t);
  const phaseOrder: string[] = [];
  const itemOrder = new Map<string, string[]>();
  samples.forEach((s, i) => {
    const span = spans.find(([a, b]) => s.t >= a && s.t <= b);
    const next = samples[i + 1]?.t;
    const to = span ? Math.max(s.t, next !== undefined && next <= span[1] ? next : span[1]) : next ?? s.t;
    for (const p of s.phases) {
      if (!phaseOrder.includes(p.name)) { phaseOrder.push(p.name); itemOrder.set(p.name, []); }
      add(rowFor(p.name, true, `p\u0000${p.name}`), s.t, to, p.state);
      for (const it of p.items) {
        const items = itemOrder.get(p.name)!;
        if (!items.includes(it.name)) items.push(it.name);
        add(rowFor(it.name, false, `i\u0000${p.name}\u0000${it.name}`), s.t, to, it.state);
      }
    }
  });
  for (const p of phaseOrder) {
    order.push(byName.get(`p\u0000${p}`)!);
    for (const it of itemOrder.get(p)!) order.push(byName.get(`i\u0000${p}\u0000${it}`)!);
  }
  return order;
}

function add(row: Row, from: number, to: number, state: string): void {
  const last = row.segments[row.segments.length - 1];
  if (last && last.state === state && last.to === from) last.to = to;
  else row.segments.push({ from, to, state });
}

const NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** The chart as an inline <svg>, or null when the run has no ESP samples. */
export function espChartSvg(report: Report): string | null {
  if (!report.esp.length) return null;
  const spans = windows(report);
  const data = rows(report, spans);
  const t0 = spans[0][0];
  const t1 = Math.max(spans[spans.length - 1][1], t0 + 1000);
  const W = 1000; const labelW = 330; const right = 16; const top = 26; const phaseH = 24; const itemH = 19; const gap = 6;
  const plotW = W - labelW - right;
  const x = (t: number) => labelW + ((t - t0) / (t1 - t0)) * plotW;
  let y = top;
  const parts: string[] = [];
  for (const r of data) {
    const h = r.phase ? phaseH : itemH;
    if (r.phase && y > top) y += gap;
    const cls = r.phase ? 'esp-phase' : 'esp-item';
    parts.push(`<text class="${cls}" x="${r.phase ? 4 : 20}" y="${y + h / 2 + 4}">${esc(r.label)}</text>`);
    parts.push(`<rect class="esp-lane" x="${labelW}" y="${y + 2}" width="${plotW}" height="${h - 4}"/>`);
    for (const s of r.segments) {
      const bx = x(s.from);
      const bw = Math.max(2, x(s.to) - bx);
      const colour = STATE_COLOURS[s.state] ?? STATE_COLOURS.unknown;
      const tip = `${r.label}: ${s.state}, from +${clock(s.from - t0)} for ${clock(s.to - s.from)}`;
      parts.push(`<rect class="esp-bar" data-state="${esc(s.state)}" x="${bx.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${h - 6}" rx="2" fill="${colour}"><title>${esc(tip)}</title></rect>`);
    }
    y += h;
  }
  const bottom = y + 4;
  // Time axis: a tick every "nice" step, about eight over the whole chart.
  const spanS = (t1 - t0) / 1000;
  const step = NICE_STEPS_S.find((s) => spanS / s <= 8) ?? 3600;
  const axis: string[] = [];
  for (let s = 0; s <= spanS + 1e-6; s += step) {
    const tx = x(t0 + s * 1000);
    axis.push(`<line class="esp-grid" x1="${tx.toFixed(1)}" y1="${top - 4}" x2="${tx.toFixed(1)}" y2="${bottom}"/>`);
    axis.push(`<text class="esp-tick" x="${tx.toFixed(1)}" y="${top - 10}" text-anchor="middle">+${clock(s * 1000)}</text>`);
  }
  // Each attempt's start, when the ESP was watched more than once (after a Retry).
  spans.forEach(([a], i) => {
    if (i === 0) return;
    const ax = x(a);
    axis.push(`<line class="esp-attempt" x1="${ax.toFixed(1)}" y1="${top - 4}" x2="${ax.toFixed(1)}" y2="${bottom}"/>`);
    axis.push(`<text class="esp-attempt-label" x="${(ax + 4).toFixed(1)}" y="${bottom + 14}">attempt ${i + 1}</text>`);
  });
  const height = bottom + (spans.length > 1 ? 22 : 6);
  return [
    `<svg class="esp-chart" role="img" aria-label="ESP phases over time" viewBox="0 0 ${W} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
    ...axis.filter((a) => a.includes('esp-grid')),
    ...parts,
    ...axis.filter((a) => !a.includes('esp-grid')),
    '</svg>',
  ].join('\n');
}

/** The legend: the states that occur in the chart. */
export function espLegend(report: Report): string {
  const states = new Set<string>();
  for (const e of report.esp) for (const p of e.phases) { states.add(p.state); for (const i of p.items) states.add(i.state); }
  return [...states]
    .map((s) => `<span class="legend"><i style="background:${STATE_COLOURS[s] ?? STATE_COLOURS.unknown}"></i>${esc(s)}</span>`)
    .join('');
}
