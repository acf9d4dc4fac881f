// report.html as the person who reads it after a night opens it: in a real browser (Debian's Chromium through
// playwright-core), from real run folders of the agent on the virtual device. It must open without errors,
// load nothing from outside, show the verdict, load its images, enlarge a frame on a click, chart the ESP,
// and keep working when the run folder is copied elsewhere or the page is sent on alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runAgent } from './helpers/processes.ts';
import { writeReport, type Report } from '../agent/report/report.ts';

const WIFI_KEY = 'autopilot-lab-2026';
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ahil-html-${name}-`));

interface Opened { page: Page; problems: string[]; requests: string[] }

async function run(scenario: string): Promise<{ dir: string; report: Report }> {
  const dir = tmp(scenario);
  const r = await runAgent(['run', '--scenario', scenario, '--speed', '600', '--out', dir, '--log-level', 'warn']);
  expect(r.code, r.stderr).toBe(scenario === 'win11' ? 0 : 1);
  return { dir, report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report };
}

describe('report.html in a real browser', () => {
  let browser: Browser;
  let passed: { dir: string; report: Report };
  let failed: { dir: string; report: Report };

  beforeAll(async () => {
    passed = await run('win11');
    failed = await run('esp-failure');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string): Promise<Opened> {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  /** naturalWidth of every <img> once it has loaded (0 for an image that did not). */
  const imageWidths = (page: Page) => page.$$eval('img', (imgs) => Promise.all(imgs.map((img) => img.decode().then(() => img.naturalWidth, () => 0))));

  it('opens a passed run with no errors, shows the verdict and loads every image', async () => {
    const { page, problems, requests } = await open(join(passed.dir, 'report.html'));
    try {
      expect((await page.locator('.verdict-word').innerText()).trim()).toBe('Passed');
      expect(await page.locator('.verdict-word').isVisible()).toBe(true);
      const widths = await imageWidths(page);
      expect(widths.length).toBeGreaterThanOrEqual(passed.report.steps.length);
      expect(widths.filter((w) => w === 0)).toEqual([]);
      // Nothing from outside: the page, and data URIs.
      expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
      // Every expected field matches and says so.
      expect(await page.locator('table.compare tr.cmp-match').count()).toBe(Object.keys(passed.report.expected).length);
      expect(await page.locator('table.compare tr.cmp-mismatch').count()).toBe(0);
      expect(await page.locator('table.steps tbody tr').count()).toBe(passed.report.steps.length);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('enlarges a frame on a click, shows the full frame, and closes with Escape', async () => {
    const { page, problems } = await open(join(passed.dir, 'report.html'));
    try {
      const thumb = page.locator('button.thumb').nth(2);
      const small = (await thumb.boundingBox())!.width;
      const full = await thumb.getAttribute('data-full');
      expect(full).toMatch(/^frames\/\d{3}-.+\.(jpg|png)$/);
      await thumb.click();
      const big = page.locator('#lightbox img');
      await page.locator('#lightbox').waitFor({ state: 'visible', timeout: 10_000 });
      await expect.poll(() => big.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(1000);
      expect(await big.getAttribute('src')).toBe(full);
      expect((await big.boundingBox())!.width).toBeGreaterThan(small * 3);
      await page.keyboard.press('ArrowRight');
      expect(await big.getAttribute('src')).not.toBe(full);
      await page.keyboard.press('Escape');
      await page.locator('#lightbox').waitFor({ state: 'hidden', timeout: 10_000 });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('charts the ESP phases and items over time', async () => {
    const { page } = await open(join(passed.dir, 'report.html'));
    try {
      const chart = page.locator('svg.esp-chart');
      await chart.waitFor({ state: 'visible', timeout: 10_000 });
      const labels = await chart.locator('text.esp-phase').allTextContents();
      expect(labels).toEqual(expect.arrayContaining(['Device preparation', 'Device setup']));
      expect(await chart.locator('text.esp-item').allTextContents()).toContain('Securing your hardware');
      expect(await chart.locator('rect.esp-bar[data-state="complete"]').count()).toBeGreaterThan(0);
      expect(await chart.locator('rect.esp-bar[data-state="in-progress"]').count()).toBeGreaterThan(0);
      // Bars lie along a time axis: a phase that finished later ends further right.
      const ends = await chart.locator('rect.esp-bar').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('x')) + Number(r.getAttribute('width'))));
      expect(Math.max(...ends)).toBeGreaterThan(Math.min(...ends));
    } finally {
      await page.close();
    }
  });

  it('shows a failed run: the verdict, the failure frame and what was read on it, the ESP states over time', async () => {
    const { page, problems } = await open(join(failed.dir, 'report.html'));
    try {
      expect((await page.locator('.verdict-word').innerText()).trim()).toBe('Product failure');
      expect(await page.locator('.verdict-message').innerText()).toContain('0x800705B4');
      const frame = page.locator('#failure button.failure-frame');
      expect(await frame.getAttribute('data-full')).toBe(failed.report.failure!.frame);
      expect(await frame.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(600);
      expect(await page.locator('#failure ol.read').innerText()).toContain('Something went wrong. Error code: 0x800705B4');
      expect(await page.locator('table.steps tr.failed').count()).toBe(1);
      // The chart shows every state the ESP was read in (the sampling of a fast ESP varies from run to run).
      const states = new Set(failed.report.esp.flatMap((e) => e.phases.flatMap((p) => [p.state, ...p.items.map((i) => i.state)])));
      const drawn = await page.locator('svg.esp-chart rect.esp-bar').evaluateAll((rects) => rects.map((r) => r.getAttribute('data-state')));
      expect(new Set(drawn)).toEqual(states);
      expect(await page.locator('svg.esp-chart text.esp-attempt-label').allTextContents()).toEqual(['attempt 2']);
      expect((await imageWidths(page)).filter((w) => w === 0)).toEqual([]);
      await frame.click();
      await page.locator('#lightbox').waitFor({ state: 'visible', timeout: 10_000 });
      await expect.poll(() => page.locator('#lightbox img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(1000);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('highlights an expected value that the device did not show', async () => {
    const dir = tmp('mismatch');
    cpSync(passed.dir, dir, { recursive: true });
    writeReport(dir, {
      ...passed.report, result: 'product', expected: { ...passed.report.expected, profile: 'Kiosk devices' },
      failure: { category: 'product', message: 'the device shows profile "Lab pre-provisioning", expected "Kiosk devices"', frame: passed.report.steps.find((st) => st.screen === 'provisioning-config')!.frameBefore },
    });
    const { page, problems } = await open(join(dir, 'report.html'));
    try {
      const row = page.locator('table.compare tr.cmp-mismatch');
      expect(await row.count()).toBe(1);
      expect(await row.innerText()).toContain('Kiosk devices');
      expect(await row.innerText()).toContain('Lab pre-provisioning');
      expect(await row.evaluate((tr) => getComputedStyle(tr).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('still works when the run folder is copied elsewhere, and shows its frames when the page travels alone', async () => {
    const copy = join(tmp('copied'), 'night-run');
    cpSync(failed.dir, copy, { recursive: true });
    const moved = await open(join(copy, 'report.html'));
    try {
      expect((await imageWidths(moved.page)).filter((w) => w === 0)).toEqual([]);
      expect(moved.problems).toEqual([]);
    } finally {
      await moved.page.close();
    }
    const alone = join(tmp('alone'), 'report.html');
    cpSync(join(failed.dir, 'report.html'), alone);
    const single = await open(alone);
    try {
      // The thumbnails and the failure frame are inside the file.
      const widths = await imageWidths(single.page);
      expect(widths.length).toBeGreaterThan(10);
      expect(widths.filter((w) => w === 0)).toEqual([]);
      expect((await single.page.locator('.verdict-word').innerText()).trim()).toBe('Product failure');
    } finally {
      await single.page.close();
    }
  });

  it('never contains the Wi-Fi key, nor do report.json and junit.xml', () => {
    for (const { dir } of [passed, failed]) {
      for (const f of ['report.html', 'report.json', 'junit.xml']) {
        expect(readFileSync(join(dir, f), 'utf8'), `${dir}/${f}`).not.toContain(WIFI_KEY);
      }
    }
  });
});
