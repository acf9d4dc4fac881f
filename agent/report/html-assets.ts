// The style and the small script inside every report.html (and the bench's index.html). Kept here, apart
// from the markup, so each stays readable. System fonts only: the page loads nothing from outside.

export const BASE_CSS = `
:root { --ink:#1d232b; --muted:#5f6b78; --line:#dfe4ea; --card:#fff; --bg:#f3f5f8;
  --passed:#1b7f3b; --product:#b3261e; --flow:#b55400; --infrastructure:#5b3fa6; --skipped:#6b7785; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 0 20px 40px; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef1f5; padding: 1px 5px; border-radius: 4px; }
a { color: #0b5cad; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 18px 0; box-shadow: 0 1px 2px rgba(20,30,40,.05); }
.badge { display: inline-block; font-size: 12px; font-weight: 650; letter-spacing: .02em; text-transform: uppercase; color: #fff; padding: 2px 8px; border-radius: 999px; vertical-align: middle; }
.cat-passed { background: var(--passed); } .cat-product { background: var(--product); } .cat-flow { background: var(--flow); }
.cat-infrastructure { background: var(--infrastructure); } .cat-skipped { background: var(--skipped); }
.verdict { color: #fff; padding: 28px max(20px, calc((100vw - 1240px) / 2)) 22px; }
.result-passed .verdict { background: linear-gradient(135deg, #1b7f3b, #23944a); }
.result-product .verdict { background: linear-gradient(135deg, #a3211b, #c4352c); }
.result-flow .verdict { background: linear-gradient(135deg, #a14a00, #c96a12); }
.result-infrastructure .verdict { background: linear-gradient(135deg, #4d3494, #6a4fb8); }
.verdict-main { min-width: 0; }
.verdict-word { font-size: 46px; font-weight: 800; letter-spacing: -.01em; line-height: 1.05; }
.verdict-message { font-size: 18px; margin: 10px 0 0; max-width: 70ch; overflow-wrap: anywhere; }
.verdict-message code { background: rgba(255,255,255,.2); color: #fff; }
.facts { display: flex; flex-wrap: wrap; gap: 10px 34px; margin: 20px 0 0; padding-top: 14px; border-top: 1px solid rgba(255,255,255,.28); }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; opacity: .8; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
footer.files { max-width: 1280px; margin: 0 auto; padding: 0 20px 28px; font-size: 14px; }
`;

export const PAGE_CSS = `${BASE_CSS}
.failure { border-left: 6px solid var(--product); }
.result-flow .failure { border-left-color: var(--flow); }
.result-infrastructure .failure { border-left-color: var(--infrastructure); }
.failure-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); gap: 20px; align-items: start; }
@media (max-width: 900px) { .failure-grid { grid-template-columns: 1fr; } }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; margin: 0; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; overflow-wrap: anywhere; }
ol.read { margin: 4px 0 0; padding-left: 26px; font: 13px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
ol.read li { overflow-wrap: anywhere; }
ul.fields { list-style: none; margin: 6px 0 0; padding: 0; font-size: 13px; }
ul.fields li { overflow-wrap: anywhere; } ul.fields b { color: var(--muted); font-weight: 600; margin-right: 4px; }
button.frame { display: block; padding: 0; border: 1px solid var(--line); border-radius: 6px; background: #000; cursor: zoom-in; overflow: hidden; }
button.frame:hover, button.frame:focus-visible { outline: 3px solid #5b9bd5; outline-offset: 1px; }
button.frame img { display: block; width: 100%; height: auto; }
button.failure-frame { width: 100%; }
.frames { display: flex; gap: 6px; }
button.thumb { width: 150px; flex: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
table.compare th[scope=row] { width: 215px; font-weight: 600; }
table.compare td { overflow-wrap: anywhere; }
table.compare td.cmp { width: 110px; }
.cmp span { font-size: 13px; font-weight: 650; }
tr.cmp-match .cmp span { color: var(--passed); } tr.cmp-match .cmp span::before { content: "✓ "; }
tr.cmp-mismatch { background: #fdecea; } tr.cmp-mismatch td, tr.cmp-mismatch th { color: #8c1d18; }
tr.cmp-mismatch .cmp span::before { content: "✗ "; }
tr.cmp-not-read { background: #fff6e0; } tr.cmp-not-read .cmp span { color: #8a5a00; }
table.steps td.num { white-space: nowrap; font-variant-numeric: tabular-nums; color: var(--muted); }
table.steps tr.failed { background: #fdecea; box-shadow: inset 4px 0 0 var(--product); }
.result-flow table.steps tr.failed { background: #fff1e3; box-shadow: inset 4px 0 0 var(--flow); }
.result-infrastructure table.steps tr.failed { background: #f1ecfb; box-shadow: inset 4px 0 0 var(--infrastructure); }
.screen { font: 12.5px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef1f5; border-radius: 4px; padding: 2px 6px; white-space: nowrap; }
details summary { cursor: pointer; color: #0b5cad; font-size: 13px; white-space: nowrap; }
table.steps td:last-child { min-width: 230px; }
.esp-last { list-style: none; padding: 0; margin: 0 0 10px; display: flex; flex-wrap: wrap; gap: 6px 22px; }
.state { font-size: 12px; font-weight: 650; padding: 1px 7px; border-radius: 999px; background: #dde3ea; }
.state[data-state=complete] { background: #dcefdc; color: #1e5e22; } .state[data-state=in-progress] { background: #dce8f7; color: #0f4c8f; }
.state[data-state=error] { background: #f9d7d4; color: #8c1d18; }
.chart-wrap { overflow-x: auto; }
svg.esp-chart { min-width: 720px; display: block; }
.esp-phase { font-size: 14px; font-weight: 650; fill: var(--ink); } .esp-item { font-size: 12.5px; fill: #3c4652; }
.esp-tick { font-size: 11px; fill: var(--muted); } .esp-grid { stroke: #e8ecf0; stroke-width: 1; }
.esp-lane { fill: #f6f8fa; } .esp-attempt { stroke: #444; stroke-width: 1.5; stroke-dasharray: 5 4; }
.esp-attempt-label { font-size: 11.5px; fill: #444; }
.legends { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 8px; font-size: 13px; color: var(--muted); }
.legend i { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: baseline; }
body.lb-open { overflow: hidden; }
#lightbox { position: fixed; inset: 0; background: rgba(8,12,18,.92); display: flex; align-items: center; justify-content: center; z-index: 10; outline: none; }
#lightbox[hidden] { display: none; }
#lightbox figure { margin: 0; max-width: 94vw; max-height: 92vh; display: flex; flex-direction: column; align-items: center; }
#lightbox img { max-width: 94vw; max-height: 84vh; object-fit: contain; background: #000; cursor: zoom-in; box-shadow: 0 6px 30px rgba(0,0,0,.5); }
#lightbox.zoomed { overflow: auto; align-items: flex-start; justify-content: flex-start; }
#lightbox.zoomed figure, #lightbox.zoomed img { max-width: none; max-height: none; cursor: zoom-out; }
#lightbox figcaption { color: #e8edf2; margin-top: 10px; font-size: 14px; text-align: center; }
#lightbox button { position: fixed; background: rgba(255,255,255,.12); color: #fff; border: 0; border-radius: 999px; width: 46px; height: 46px; font-size: 28px; line-height: 1; cursor: pointer; }
#lightbox button:hover { background: rgba(255,255,255,.25); }
.lb-close { top: 16px; right: 16px; } .lb-prev { left: 16px; top: calc(50% - 23px); } .lb-next { right: 16px; top: calc(50% - 23px); }
@media print { .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; } button.thumb { width: 110px; } }
`;

/** The lightbox: a click on a frame shows it full size (from frames/, or the embedded copy if the file is gone). */
export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var frames = Array.prototype.slice.call(document.querySelectorAll('button.frame'));
  var box = null, img = null, caption = null, at = -1;
  function build() {
    box = document.createElement('div');
    box.id = 'lightbox';
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-modal', 'true');
    box.tabIndex = -1;
    var figure = document.createElement('figure');
    img = document.createElement('img');
    caption = document.createElement('figcaption');
    figure.appendChild(img);
    figure.appendChild(caption);
    box.appendChild(figure);
    [['lb-prev', 'Previous frame', '\\u2039'], ['lb-next', 'Next frame', '\\u203a'], ['lb-close', 'Close', '\\u00d7']].forEach(function (b) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = b[0];
      button.setAttribute('aria-label', b[1]);
      button.textContent = b[2];
      box.appendChild(button);
    });
    box.addEventListener('click', function (e) {
      var t = e.target;
      if (t === img) { box.classList.toggle('zoomed'); return; }
      if (t.classList.contains('lb-prev')) show(at - 1);
      else if (t.classList.contains('lb-next')) show(at + 1);
      else close();
    });
    document.body.appendChild(box);
  }
  function show(i) {
    if (!box) build();
    at = (i + frames.length) % frames.length;
    var button = frames[at];
    var embedded = button.querySelector('img').getAttribute('src');
    img.onerror = function () { img.onerror = null; img.src = embedded; };
    img.src = button.getAttribute('data-full');
    img.alt = button.getAttribute('data-caption');
    caption.textContent = button.getAttribute('data-caption') + ' (' + (at + 1) + ' of ' + frames.length + ')';
    box.classList.remove('zoomed');
    box.hidden = false;
    document.body.classList.add('lb-open');
    box.focus();
  }
  function close() {
    box.hidden = true;
    document.body.classList.remove('lb-open');
    if (frames[at]) frames[at].focus();
  }
  frames.forEach(function (button, i) { button.addEventListener('click', function () { show(i); }); });
  document.addEventListener('keydown', function (e) {
    if (!box || box.hidden) return;
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowLeft') show(at - 1);
    else if (e.key === 'ArrowRight') show(at + 1);
  });
})();
`;
