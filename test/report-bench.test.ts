// The bench summary from two real station run folders (the agent on the virtual device) and one station that
// was skipped: summary.json, junit.xml with one suite per station, index.html linking the station reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT, runAgent } from './helpers/processes.ts';
import { writeBenchSummary, type BenchSummary } from '../agent/report/bench-summary.ts';
import type { Report } from '../agent/report/report.ts';

const XSD = join(ROOT, 'test/fixtures/junit/junit.xsd');
const xpath = (file: string, expr: string) => execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();

describe('bench summary', () => {
  const bench = mkdtempSync(join(tmpdir(), 'ahil-bench-summary-'));
  let summary: BenchSummary;
  let reports: Record<string, Report>;
  let browser: Browser;

  beforeAll(async () => {
    const started = new Date();
    const stations: BenchSummary['stations'] = [];
    reports = {};
    // Two stations in turn (two cores are shared); each a real run of the agent.
    for (const [name, scenario] of [['a', 'win11-wired'], ['b', 'no-profile']] as const) {
      const out = join(bench, 'stations', name);
      const t = Date.now();
      const r = await runAgent(['run', '--scenario', scenario, '--speed', '600', '--out', out, '--station', name, '--log-level', 'warn']);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
      expect(r.code, r.stderr).toBe(name === 'a' ? 0 : 1);
      reports[name] = report;
      stations.push({
        name, result: report.result, reportDir: `stations/${name}`, durationMs: Date.now() - t, health: 'good',
        ...(report.failure ? { category: report.failure.category, message: report.failure.message } : {}),
      });
    }
    stations.push({ name: 'c', result: 'skipped', message: 'self-test: the grabber sends no frame', reportDir: 'stations/c', durationMs: 0, health: 'bad' });
    summary = { bench: 'night-bench.yaml', startedAt: started.toISOString(), durationMs: Date.now() - started.getTime(), stations };
    writeBenchSummary(bench, summary);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('writes summary.json as given', () => {
    expect(JSON.parse(readFileSync(join(bench, 'summary.json'), 'utf8'))).toEqual(summary);
  });

  it('writes junit.xml with one valid suite per station, the steps of each as its test cases', () => {
    const file = join(bench, 'junit.xml');
    const v = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(xpath(file, 'count(/testsuites/testsuite)')).toBe('3');
    expect(xpath(file, 'string(/testsuites/@name)')).toBe('night-bench.yaml');
    expect(xpath(file, 'count(/testsuites/testsuite[@name="a"]/testcase)')).toBe(String(reports.a.steps.length));
    expect(xpath(file, 'count(/testsuites/testsuite[@name="b"]/testcase)')).toBe(String(reports.b.steps.length));
    // Classnames carry the station, so Jenkins keeps the stations apart.
    expect(xpath(file, 'count(//testsuite[@name="a"]/testcase[not(starts-with(@classname, "a.technician."))])')).toBe('0');
    expect(xpath(file, 'count(//testsuite[@name="a"]//failure)')).toBe('0');
    expect(xpath(file, 'string(//testsuite[@name="b"]//failure/@type)')).toBe('product');
    expect(xpath(file, 'string(//testsuite[@name="b"]//failure/@message)')).toBe(reports.b.failure!.message);
    expect(xpath(file, 'string(//testsuite[@name="c"]/testcase/skipped/@message)')).toBe('self-test: the grabber sends no frame');
    const total = reports.a.steps.length + reports.b.steps.length + 1;
    expect(xpath(file, 'string(/testsuites/@tests)')).toBe(String(total));
    expect(xpath(file, 'string(/testsuites/@failures)')).toBe('1');
    expect(xpath(file, 'string(/testsuites/@skipped)')).toBe('1');
  });

  it('writes index.html: the verdicts in a table, each linking its station report', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    try {
      await page.goto(`file://${join(bench, 'index.html')}`);
      expect((await page.locator('.verdict-word').innerText()).trim()).toBe('1 of 3 passed');
      const rows = page.locator('table.stations tbody tr');
      expect(await rows.count()).toBe(3);
      expect(await rows.nth(0).textContent()).toContain('Passed');
      expect(await rows.nth(1).textContent()).toContain('Product failure');
      expect(await rows.nth(1).textContent()).toContain(reports.b.failure!.message);
      expect(await rows.nth(2).textContent()).toContain('Skipped');
      expect(await rows.nth(2).textContent()).toContain('no report');
      expect(await rows.nth(0).locator('a').getAttribute('href')).toBe('stations/a/report.html');
      await rows.nth(1).locator('a').click();
      await page.waitForURL(/stations\/b\/report\.html$/);
      expect((await page.locator('.verdict-word').innerText()).trim()).toBe('Product failure');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
