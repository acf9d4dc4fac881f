// junit.xml as a CI server reads it: valid against the JUnit schema Jenkins and GitLab use, one test case per
// step, the failure with its category and message on the step where it happened, and no secret in it.
// The run folders come from real runs of the agent on the virtual device.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runAgent } from './helpers/processes.ts';
import { writeReport, emptyDevice, type Report } from '../agent/report/report.ts';

const XSD = join(ROOT, 'test/fixtures/junit/junit.xsd');
const WIFI_KEY = 'autopilot-lab-2026';
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ahil-junit-${name}-`));

/** xmllint's verdict on a file against the schema: its exit code and what it said. */
function validate(file: string): { ok: boolean; said: string } {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { ok: r.status === 0, said: `${r.stdout}${r.stderr}` };
}

/** An XPath value of a file, through xmllint. */
function xpath(file: string, expr: string): string {
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
}

async function run(scenario: string): Promise<{ dir: string; report: Report }> {
  const dir = tmp(scenario);
  const r = await runAgent(['run', '--scenario', scenario, '--speed', '600', '--out', dir, '--log-level', 'warn']);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
  expect(r.code, r.stderr).toBe(scenario === 'win11' ? 0 : 1);
  return { dir, report };
}

describe('junit.xml of a run', () => {
  let passed: { dir: string; report: Report };
  let failed: { dir: string; report: Report };

  beforeAll(async () => {
    passed = await run('win11');
    failed = await run('esp-failure');
  }, 400_000);

  it('is valid against the JUnit schema, for a passed and a failed run', () => {
    for (const { dir } of [passed, failed]) {
      const v = validate(join(dir, 'junit.xml'));
      expect(v.said).toContain('validates');
      expect(v.ok, v.said).toBe(true);
    }
  });

  it('has one suite for the run and one test case per step, named after the screen and the action', () => {
    const file = join(passed.dir, 'junit.xml');
    const { report } = passed;
    expect(xpath(file, 'count(/testsuites/testsuite)')).toBe('1');
    expect(xpath(file, 'string(/testsuites/testsuite/@name)')).toBe('technician virtual:win11');
    expect(Number(xpath(file, 'count(//testcase)'))).toBe(report.steps.length);
    expect(xpath(file, 'string(//testsuite/@tests)')).toBe(String(report.steps.length));
    expect(xpath(file, 'count(//failure) + count(//error)')).toBe('0');
    const region = report.steps.findIndex((s) => s.screen === 'oobe-region');
    const tc = `//testcase[${region + 1}]`;
    expect(xpath(file, `string(${tc}/@classname)`)).toBe('technician.oobe-region');
    expect(xpath(file, `string(${tc}/@name)`)).toBe(report.steps[region].action);
    expect(Number(xpath(file, `string(${tc}/@time)`))).toBeCloseTo(report.steps[region].ms / 1000, 3);
    // What was read on the screen is the case's output.
    expect(xpath(file, `string(${tc}/system-out)`)).toContain(report.steps[region].texts[0]);
    // Test case names stay unique within a class, so CI keeps one history per step.
    const names = report.steps.map((_, i) => `${xpath(file, `string(//testcase[${i + 1}]/@classname)`)}/${xpath(file, `string(//testcase[${i + 1}]/@name)`)}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('carries the device fields and the expected values as properties', () => {
    const file = join(passed.dir, 'junit.xml');
    const prop = (name: string) => xpath(file, `string(//property[@name="${name}"]/@value)`);
    expect(prop('result')).toBe('passed');
    expect(prop('device.organization')).toBe('Contoso');
    expect(prop('device.serialNumber')).toBe('PF3X9K2L');
    expect(prop('expected.profile')).toBe('Lab pre-provisioning');
    expect(prop('os')).toBe('win11');
  });

  it('puts the failure, with its category and message, on the step where it happened', () => {
    const file = join(failed.dir, 'junit.xml');
    const { report } = failed;
    expect(report.failure?.category).toBe('product');
    expect(xpath(file, 'count(//failure)')).toBe('1');
    expect(xpath(file, 'string(//testsuite/@failures)')).toBe('1');
    expect(xpath(file, 'string(//failure/@type)')).toBe('product');
    expect(xpath(file, 'string(//failure/@message)')).toBe(report.failure!.message);
    expect(xpath(file, 'string(//failure/@message)')).toContain('0x800705B4');
    // The failing case is the last step (the red screen that was read), and the failure says what it showed.
    const last = report.steps.length;
    expect(xpath(file, `count(//testcase[${last}]/failure)`)).toBe('1');
    expect(xpath(file, `string(//testcase[${last}]/@classname)`)).toBe('technician.provisioning-failure');
    expect(xpath(file, 'string(//failure)')).toContain('Something went wrong. Error code: 0x800705B4');
    expect(xpath(file, 'string(//property[@name="failure.code"]/@value)')).toBe('0x800705B4');
  });

  it('never contains the Wi-Fi key, nor do report.json and report.html', () => {
    for (const { dir } of [passed, failed]) {
      for (const f of ['junit.xml', 'report.json', 'report.html']) {
        expect(readFileSync(join(dir, f), 'utf8'), `${dir}/${f}`).not.toContain(WIFI_KEY);
      }
    }
  });

  it('escapes what OCR read and masks a secret that shows up in it', () => {
    const dir = tmp('escape');
    const secret = 'Sup3r&Secret<key>';
    const report: Report = {
      result: 'flow', flow: 'technician', os: 'win11', station: 'bench "A" & <b>', startedAt: new Date().toISOString(),
      durationMs: 1234, device: emptyDevice(), expected: { profile: 'Kiosk & "Lab"' },
      steps: [{
        screen: 'oobe-network', action: 'press <Next> & "go"', at: new Date().toISOString(), ms: 5,
        frameBefore: null, frameAfter: null, texts: [`password: ${secret}`, 'bell \u0007 and form feed \u000c', ']]> <!-- -->'],
      }],
      esp: [], attempts: 1,
      failure: { category: 'flow', message: `an unexpected screen reads "${secret}" & <more>`, frame: null },
    };
    const before = process.env.AUTOPILOT_HIL_WIFI_KEY;
    process.env.AUTOPILOT_HIL_WIFI_KEY = secret;
    try {
      writeReport(dir, report);
    } finally {
      if (before === undefined) delete process.env.AUTOPILOT_HIL_WIFI_KEY; else process.env.AUTOPILOT_HIL_WIFI_KEY = before;
    }
    const file = join(dir, 'junit.xml');
    expect(validate(file).ok, validate(file).said).toBe(true);
    for (const f of ['junit.xml', 'report.json', 'report.html']) expect(readFileSync(join(dir, f), 'utf8')).not.toContain(secret);
    expect(xpath(file, 'string(//testcase[1]/@name)')).toBe('press <Next> & "go"');
    expect(xpath(file, 'string(//testsuite/@name)')).toBe('technician bench "A" & <b>');
    // The failure came after the last step (a screen with no step): it goes on a final verdict case.
    expect(xpath(file, 'string(//testcase[2]/@name)')).toBe('verdict');
    expect(xpath(file, 'string(//testcase[2]/failure/@message)')).toBe('an unexpected screen reads "***" & <more>');
  });

  it('reports a part that broke before the first step as an error on the verdict', () => {
    const dir = tmp('infra');
    writeReport(dir, {
      result: 'infrastructure', flow: 'technician', os: null, station: 'a', startedAt: new Date().toISOString(), durationMs: 10,
      device: emptyDevice(), expected: {}, steps: [], esp: [], attempts: 0,
      failure: { category: 'infrastructure', message: 'the board at /dev/ttyACM0 does not answer' },
    });
    const file = join(dir, 'junit.xml');
    expect(validate(file).ok).toBe(true);
    expect(xpath(file, 'count(//testcase)')).toBe('1');
    expect(xpath(file, 'string(//error/@type)')).toBe('infrastructure');
    expect(xpath(file, 'string(//testsuite/@errors)')).toBe('1');
    expect(xpath(file, 'count(//failure)')).toBe('0');
  });

  it('uses a schema that refuses what Jenkins would not read', () => {
    const good = readFileSync(join(passed.dir, 'junit.xml'), 'utf8');
    const broken = [
      good.replace(/(<testsuite [^>]*?) tests="\d+"/, '$1'), // a suite without its test count
      good.replace(/(<testcase [^>]*?)time="([0-9.]+)"/, '$1time="1,5"'), // a time with a decimal comma
      good.replace(/(<testcase [^>]*?) name="[^"]*"/, '$1'), // a case without a name
    ];
    for (const [i, text] of broken.entries()) {
      expect(text).not.toBe(good);
      const file = join(tmp('broken'), `junit-${i}.xml`);
      writeFileSync(file, text);
      expect(validate(file).ok, `variant ${i}`).toBe(false);
    }
  });
});
