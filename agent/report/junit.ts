// junit.xml of a run, for Jenkins' JUnit plugin and GitLab's test reports: one <testsuite> per run, one
// <testcase> per flow step, the failure on the step where it happened (or on a final "verdict" case).
// Product and flow failures are <failure>s (the device or the flow said no); infrastructure is an <error>
// (the bench could not test), the way JUnit tells a failed test from a broken one.
// The shape is checked against test/fixtures/junit/junit.xsd.
import type { Report, Step } from './report.ts';
import { esc, escAttr, seconds } from './markup.ts';
import { failureStepIndex, textsOnFailureFrame } from './run-facts.ts';

export interface SuiteOptions {
  /** The suite's name; by default flow and station. */
  name?: string;
  /** Put before every classname (a bench uses the station's name, so stations stay apart in Jenkins). */
  classPrefix?: string;
}

/** One <testsuite> element and the counts the document's totals add up. */
export interface Suite { xml: string; tests: number; failures: number; errors: number; skipped: number; ms: number }

/** junit.xml for one run. */
export function renderJunit(report: Report): string {
  return junitDocument([suiteXml(report)], `${report.flow} ${report.station}`);
}

/** The whole document around some suites, with the totals Jenkins and GitLab show. */
export function junitDocument(suites: Suite[], name: string, ms = suites.reduce((a, s) => a + s.ms, 0)): string {
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped') => suites.reduce((a, s) => a + s[k], 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escAttr(name)}" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" skipped="${sum('skipped')}" time="${seconds(ms)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

interface Case { classname: string; name: string; ms: number; out: string; problem?: string; skipped?: string }

/** One run as a <testsuite>. */
export function suiteXml(report: Report, opts: SuiteOptions = {}): Suite {
  const prefix = opts.classPrefix ? `${opts.classPrefix}.` : '';
  const cls = (screen: string) => `${prefix}${report.flow}.${screen}`;
  const failAt = failureStepIndex(report);
  const seen = new Map<string, number>();
  const cases: Case[] = report.steps.map((step, i) => {
    // Names stay the action (stable from run to run, so CI keeps a history per step); repeats get a number.
    const key = `${step.screen}\u0000${step.action}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return {
      classname: cls(step.screen),
      name: n > 1 ? `${step.action} (${n})` : step.action,
      ms: step.ms,
      out: stepOutput(step),
      ...(i === failAt ? { problem: problemXml(report) } : {}),
    };
  });
  if (report.failure && failAt < 0) {
    cases.push({ classname: cls('verdict'), name: 'verdict', ms: 0, out: verdictOutput(report), problem: problemXml(report) });
  }
  const failures = report.failure && report.failure.category !== 'infrastructure' ? 1 : 0;
  const errors = report.failure?.category === 'infrastructure' ? 1 : 0;
  const name = opts.name ?? `${report.flow} ${report.station}`;
  const lines = [
    `  <testsuite name="${escAttr(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(report.durationMs)}" timestamp="${timestamp(report.startedAt)}">`,
    '    <properties>',
    ...properties(report).map(([k, v]) => `      <property name="${escAttr(k)}" value="${escAttr(v)}"/>`),
    '    </properties>',
    ...cases.map(caseXml),
    `    <system-out>${esc(verdictOutput(report))}</system-out>`,
    '  </testsuite>',
  ];
  return { xml: lines.join('\n'), tests: cases.length, failures, errors, skipped: 0, ms: report.durationMs };
}

/** A <testsuite> for a station that has no report (skipped, or it broke before writing one). */
export function stationWithoutReportXml(station: string, startedAt: string, outcome: { result: string; category?: string; message?: string; durationMs: number }): Suite {
  const skipped = outcome.result === 'skipped';
  const category = outcome.category ?? outcome.result;
  const failed = !skipped && outcome.result !== 'passed';
  const tag = category === 'infrastructure' ? 'error' : 'failure';
  const body = skipped
    ? `      <skipped message="${escAttr(outcome.message ?? 'skipped')}"/>`
    : failed ? `      <${tag} type="${escAttr(category)}" message="${escAttr(outcome.message ?? category)}">${esc(outcome.message ?? '')}</${tag}>` : '';
  const failures = failed && tag === 'failure' ? 1 : 0;
  const errors = failed && tag === 'error' ? 1 : 0;
  const xml = [
    `  <testsuite name="${escAttr(station)}" tests="1" failures="${failures}" errors="${errors}" skipped="${skipped ? 1 : 0}" time="${seconds(outcome.durationMs)}" timestamp="${timestamp(startedAt)}">`,
    `    <testcase classname="${escAttr(`${station}.verdict`)}" name="verdict" time="${seconds(outcome.durationMs)}">`,
    ...(body ? [body] : []),
    '    </testcase>',
    '  </testsuite>',
  ].join('\n');
  return { xml, tests: 1, failures, errors, skipped: skipped ? 1 : 0, ms: outcome.durationMs };
}

function caseXml(c: Case): string {
  return [
    `    <testcase classname="${escAttr(c.classname)}" name="${escAttr(c.name)}" time="${seconds(c.ms)}">`,
    ...(c.problem ? [c.problem] : []),
    ...(c.out ? [`      <system-out>${esc(c.out)}</system-out>`] : []),
    '    </testcase>',
  ].join('\n');
}

function problemXml(report: Report): string {
  const f = report.failure!;
  const tag = f.category === 'infrastructure' ? 'error' : 'failure';
  const message = f.code && !f.message.includes(f.code) ? `${f.message} (${f.code})` : f.message;
  const read = textsOnFailureFrame(report);
  const body = [
    `category: ${f.category}`,
    ...(f.code ? [`code: ${f.code}`] : []),
    `message: ${f.message}`,
    ...(f.frame ? [`frame: ${f.frame}`] : []),
    ...(read.length ? ['read on the screen:', ...read.map((t) => `  ${t}`)] : []),
  ].join('\n');
  return `      <${tag} type="${escAttr(f.category)}" message="${escAttr(message)}">${esc(body)}</${tag}>`;
}

function stepOutput(step: Step): string {
  const out: string[] = [`screen: ${step.screen}`, `action: ${step.action}`, `at: ${step.at}`];
  if (step.frameBefore) out.push(`frame before: ${step.frameBefore}`);
  if (step.frameAfter) out.push(`frame after: ${step.frameAfter}`);
  if (step.note) out.push(`note: ${step.note}`);
  for (const [k, v] of Object.entries(step.fields ?? {})) out.push(`field ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (step.texts.length) out.push('read:', ...step.texts.map((t) => `  ${t}`));
  return out.join('\n');
}

function verdictOutput(report: Report): string {
  const out = [`result: ${report.result}`, `station: ${report.station}`, `flow: ${report.flow}`, `os: ${report.os ?? 'unknown'}`, `attempts: ${report.attempts}`];
  if (report.failure) out.push(`failure: ${report.failure.category}${report.failure.code ? ` ${report.failure.code}` : ''}: ${report.failure.message}`);
  for (const [k, v] of Object.entries(report.device)) out.push(`device ${k}: ${v ?? '(not read)'}`);
  for (const [k, v] of Object.entries(report.expected)) out.push(`expected ${k}: ${v}`);
  return out.join('\n');
}

function properties(report: Report): [string, string][] {
  const props: [string, string][] = [
    ['result', report.result], ['flow', report.flow], ['os', report.os ?? ''], ['station', report.station],
    ['startedAt', report.startedAt], ['attempts', String(report.attempts)],
  ];
  if (report.failure) {
    props.push(['failure.category', report.failure.category]);
    if (report.failure.code) props.push(['failure.code', report.failure.code]);
  }
  for (const [k, v] of Object.entries(report.device)) props.push([`device.${k}`, v ?? '']);
  for (const [k, v] of Object.entries(report.expected)) if (v !== undefined) props.push([`expected.${k}`, v]);
  return props;
}

/** The timestamp JUnit readers parse: ISO 8601 to the second, no zone (Jenkins' own format); UTC. */
function timestamp(iso: string): string {
  const t = Date.parse(iso);
  return (Number.isFinite(t) ? new Date(t) : new Date(0)).toISOString().slice(0, 19);
}
