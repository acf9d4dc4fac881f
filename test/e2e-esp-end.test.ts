// The ESP's end state in the report even when it shows only briefly: here the ended ESP stays 0.5 s before the
// result page (1.5 s by default), about as long as a loaded machine takes to read one ESP frame, so the agent
// may still be reading an earlier frame while it shows. The report must still say how the ESP ended (which item
// failed) for each attempt. End to end on the virtual device (separate processes, TCP serial line). Without the
// look back, the failure case failed 1 run of 2 (2 of 2 at 0.4 s) with three busy loops beside it on two cores;
// on an idle machine the agent reads fast enough that it rarely needs to look back. observer-look-back.test.ts
// checks the look back itself, frame by frame.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkScenario, runScenario, scenario, type Expectation } from './helpers/e2e-scenarios.ts';

const T = 240_000;
/** Two or three frames of the 5 fps stream, even when rendering a frame takes longer than a frame's time. */
const END_SHOWN_MS = 500;

/** A built-in scenario whose ended ESP stays END_SHOWN_MS in real time, as a file of its own. */
function briefEnd(name: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ahil-scenario-')), `${name}-brief-end.yaml`);
  writeFileSync(file, stringify({ extends: name, timing: { espHoldMs: END_SHOWN_MS } }));
  return file;
}

/** The last ESP sample taken before `at` (ISO time). */
function lastSampleBefore(report: any, at: string): any {
  return (report.esp as any[]).filter((s) => Date.parse(s.at) < Date.parse(at)).at(-1);
}

describe('the ended ESP, shown for less than a read', () => {
  it('success: the last sample has Device setup complete', async () => {
    const e: Expectation = { ...scenario('win11'), scenario: briefEnd('win11') };
    const run = await runScenario(e, 'tcp');
    // checkScenario asks, of a passed run, for the last ESP sample with its three phases and Device setup complete.
    checkScenario(e, run);
  }, T);

  it('failure: before each red page, the sample that names the item that failed and its error', async () => {
    const e: Expectation = { ...scenario('esp-failure'), scenario: briefEnd('esp-failure') };
    const run = await runScenario(e, 'tcp');
    checkScenario(e, run);
    const redPages = (run.report.steps as any[]).filter((s) => /^press Export logs/.test(s.action));
    expect(redPages.length).toBe(2);
    for (const step of redPages) {
      const sample = lastSampleBefore(run.report, step.at);
      const prep = sample.phases.find((p: any) => p.name === 'Device preparation');
      expect(prep.state, JSON.stringify(sample)).toBe('error');
      expect(prep.items.find((i: any) => i.name === 'Securing your hardware')?.state, JSON.stringify(sample)).toBe('error');
    }
  }, T);
});
