// `run --resume DIR` after the agent died: the agent is killed -9 while the device is in the ESP, started again
// on the run folder, and finishes the same run on the same device without pressing Provision a second time.
// The virtual device runs as its own process (as a real PC outlives the agent), so it survives the kill.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AGENT_BIN, ROOT, runAgent, startSim, type SimState } from './helpers/processes.ts';
import { FileJournal, JOURNAL_FILE, readJournal } from '../agent/engine/journal.ts';
import { takenNote } from '../agent/engine/resume.ts';

const WIFI_KEY = 'autopilot-lab-2026';
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ahil-resume-${name}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await probe().catch(() => null);
    if (got) return got;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** win11 over Wi-Fi, with an Apps item long enough (30 s at speed 600) for the agent to die and come back in the ESP. */
function longEspScenario(): string {
  const scenario = parse(readFileSync(join(ROOT, 'sim/scenarios/win11.yaml'), 'utf8'));
  for (const item of scenario.esp.deviceSetup) if (item.name === 'Apps') item.seconds = 18_000;
  scenario.name = 'win11-long-esp';
  const file = join(tmp('scenario'), 'win11-long-esp.yaml');
  writeFileSync(file, stringify(scenario));
  return file;
}

/** The agent as a process this test can kill -9 (runAgent only waits for it). */
function startAgent(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

/** Waits for the device to be in the ESP with an ESP sample in the journal under `runDir`, then kills the agent -9. */
async function killInEsp(agent: ReturnType<typeof startAgent>, sim: { state(): Promise<SimState> }, runDir: string): Promise<number> {
  await until('the device in the ESP and an ESP sample journaled', async () => {
    const state = await sim.state();
    return state.screen === 'esp' && journalText(runDir).includes('"kind":"esp"');
  }, 180_000).catch((err) => { throw new Error(`${err.message}; agent said: ${agent.stderr().slice(-2000)}`); });
  agent.child.kill('SIGKILL');
  expect((await agent.exited).signal).toBe('SIGKILL');
  return Date.now();
}

const windowsKeyDowns = (state: SimState) =>
  state.hid.filter((ev) => ev.type === 'key' && ev.down === true && (ev.code === 'MetaLeft' || ev.code === 'MetaRight')).length;

/**
 * A bench file in a folder of its own: station lab-1 is the virtual device `sim` as a real station (board over
 * TCP, MJPEG video), then the `more` stations' lines. Gives the file and the bench run folder to use.
 */
function benchOf(sim: { info: { tcp: string; video: string } }, more: string[] = []): { benchFile: string; out: string } {
  const dir = tmp('bench');
  const benchFile = join(dir, 'bench.yaml');
  writeFileSync(benchFile, [
    'stations:',
    '  - name: lab-1',
    `    hid: tcp://${sim.info.tcp}`,
    `    capture: ${sim.info.video}`,
    '    expect: { organization: Contoso, profile: Lab pre-provisioning }',
    '    wifi: { ssid: LabNet, keyEnv: AHIL_TEST_WIFI_KEY }',
    ...more,
  ].join('\n'));
  return { benchFile, out: join(dir, 'bench-run') };
}

/** The device resealed at the end of one setup: Provision pressed once, five Windows keys, the Wi-Fi key typed once. */
async function expectResealedOnce(sim: { state(): Promise<SimState> }, provisionedBy: string): Promise<void> {
  const state = await sim.state();
  expect(state.resealed).toBe(true);
  expect(state.attempts, `Provision pressed once, ${provisionedBy}`).toBe(1);
  expect(windowsKeyDowns(state)).toBe(5);
  expect(state.typed).toBe(WIFI_KEY);
}

const journalText = (out: string) => (existsSync(join(out, JOURNAL_FILE)) ? readFileSync(join(out, JOURNAL_FILE), 'utf8') : '');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('run --resume', () => {
  it('goes on after the agent is killed -9 in the ESP: one Provision, five Windows keys, resealed, one report of both lives', async () => {
    const sim = await startSim(['--scenario', longEspScenario(), '--serial', 'tcp', '--speed', '600']);
    const out = join(tmp('run'), 'run');
    try {
      const first = startAgent(['run', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--out', out,
        '--expect-organization', 'Contoso', '--expect-profile', 'Lab pre-provisioning', '--wifi-ssid', 'LabNet', '--log-level', 'info'],
      { AUTOPILOT_HIL_WIFI_KEY: WIFI_KEY });
      // In the ESP on the device, and the agent has journaled an ESP sample: then the agent dies at once.
      const killedAt = await killInEsp(first, sim, out);
      const before = await sim.state();
      expect(before.screen).toBe('esp');
      expect(before.attempts).toBe(1);
      const firstLife = readJournal(out);
      expect(firstLife.taken.map((a) => a.key).some((k) => k.startsWith('provision'))).toBe(true);

      // No key in the environment now: the run is past the network screen and does not need it again.
      const second = await runAgent(['run', '--resume', out, '--log-level', 'info'], { AUTOPILOT_HIL_WIFI_KEY: '' });
      const context = second.stderr.slice(-3000);
      expect(second.code, context).toBe(0);
      expect(second.stdout).toContain(`passed: ${join(out, 'report.json')}`);

      const state = await sim.state();
      expect(state.resealed).toBe(true);
      expect(state.attempts, 'Provision pressed once, on the first life only').toBe(1);
      expect(windowsKeyDowns(state)).toBe(5);
      expect(state.typed, 'the Wi-Fi key typed once, nothing else').toBe(WIFI_KEY);

      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.result).toBe('passed');
      expect(report.startedAt).toBe(firstLife.startedAt);
      expect(Date.parse(report.startedAt) + report.durationMs).toBeGreaterThan(killedAt);
      const actions = report.steps.map((s: { screen: string; action: string }) => `${s.screen}: ${s.action}`);
      const resumeAt = report.steps.findIndex((s: { action: string }) => /resume/i.test(s.action));
      expect(resumeAt, actions.join('\n')).toBeGreaterThan(0);
      // Steps of the first life before the mark: up to the ESP, Provision among them; of the second after it.
      const lifeOne = actions.slice(0, resumeAt).join('\n');
      const lifeTwo = actions.slice(resumeAt + 1).join('\n');
      expect(lifeOne).toMatch(/oobe-region: press Yes/);
      expect(lifeOne).toMatch(/provisioning-config: press (Next|Provision)/);
      expect(lifeOne).toMatch(/^esp: /m);
      expect(lifeTwo).not.toMatch(/provisioning-config/);
      expect(lifeTwo).toMatch(/provisioning-success: press Reseal/);
      expect(report.steps[resumeAt].note).toMatch(/provision/);
      expect(Date.parse(report.steps[resumeAt].at)).toBeGreaterThan(killedAt);
      expect(report.esp.length).toBeGreaterThan(firstLife.esp.length);
      expect(report.attempts).toBe(1);
      // Every frame of both lives is still there: the second life numbered on, it did not overwrite.
      const frames = report.steps.flatMap((s: { frameBefore: string | null; frameAfter: string | null }) => [s.frameBefore, s.frameAfter]).filter(Boolean);
      for (const f of frames) expect(existsSync(join(out, f)), f).toBe(true);
      const journal = readFileSync(join(out, JOURNAL_FILE), 'utf8');
      expect(journal.indexOf('"kind":"resume"')).toBeGreaterThan(journal.indexOf('"key":"provision'));
      expect(journal.lastIndexOf('"kind":"intent","key":"provision')).toBeLessThan(journal.indexOf('"kind":"resume"'));
      for (const file of filesUnder(out)) expect(readFileSync(file).includes(WIFI_KEY), file).toBe(false);

      // The run is finished now: resuming it again is refused, naming the journal.
      const again = await runAgent(['run', '--resume', out]);
      expect(again.code).toBe(64);
      expect(again.stderr).toContain(join(out, JOURNAL_FILE));
      expect(again.stderr).toMatch(/already finished \(passed/);
      // A damaged journal (a line cut in the middle of the file) is refused, naming the file and the line.
      const damaged = tmp('damaged');
      const lines = journal.split('\n');
      lines[3] = lines[3].slice(0, 20);
      writeFileSync(join(damaged, JOURNAL_FILE), lines.slice(0, 10).join('\n') + '\n');
      const bad = await runAgent(['run', '--resume', damaged]);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain(`${join(damaged, JOURNAL_FILE)}:4: not valid JSON`);
    } finally {
      await sim.stop();
    }
  }, 420_000);

  it('goes on with a bench station whose bench process was killed -9 in the ESP: run --resume STATION-DIR passes, one Provision', async () => {
    const sim = await startSim(['--scenario', longEspScenario(), '--serial', 'tcp', '--speed', '600']);
    const { benchFile, out } = benchOf(sim);
    const station = join(out, 'lab-1');
    try {
      const bench = startAgent(['bench', 'run', benchFile, '--out', out, '--log-level', 'warn'], { AHIL_TEST_WIFI_KEY: WIFI_KEY });
      await killInEsp(bench, sim, station);
      expect((await sim.state()).attempts).toBe(1);

      // The station's folder is a run folder of its own: resumed as one, with the key no longer needed.
      const resumed = await runAgent(['run', '--resume', station, '--log-level', 'warn'], { AHIL_TEST_WIFI_KEY: '', AUTOPILOT_HIL_WIFI_KEY: '' });
      expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
      await expectResealedOnce(sim, 'by the bench process only');
      const report = JSON.parse(readFileSync(join(station, 'report.json'), 'utf8'));
      expect(report.result).toBe('passed');
      const actions = report.steps.map((s: { screen: string; action: string }) => `${s.screen}: ${s.action}`).join('\n');
      expect(actions).toMatch(/resume/i);
      expect(actions).toMatch(/provisioning-success: press Reseal/);
      for (const file of filesUnder(out)) expect(readFileSync(file).includes(WIFI_KEY), file).toBe(false);
    } finally {
      await sim.stop();
    }
  }, 420_000);

  it('bench run --resume: the stopped bench goes on, the unfinished station from its journal, the finished one kept; one summary', async () => {
    const sim = await startSim(['--scenario', longEspScenario(), '--serial', 'tcp', '--speed', '600']);
    // lab-2, a device with no Autopilot profile: its run ends (product) long before lab-1 leaves the ESP.
    const { benchFile, out } = benchOf(sim, ['  - name: lab-2', '    virtual: no-profile', '    speed: 600']);
    const env = { AHIL_TEST_WIFI_KEY: WIFI_KEY };
    try {
      const bench = startAgent(['bench', 'run', benchFile, '--out', out, '--log-level', 'warn'], env);
      await until('lab-2 finished', async () => existsSync(join(out, 'lab-2', JOURNAL_FILE)) && journalText(join(out, 'lab-2')).includes('"kind":"end"'), 180_000);
      const killedAt = await killInEsp(bench, sim, join(out, 'lab-1'));
      expect(existsSync(join(out, 'summary.json'))).toBe(false);
      const lab2Report = readFileSync(join(out, 'lab-2', 'report.json'));
      // A station added to the bench file since: not one the stopped bench ran, so not one its resume runs.
      writeFileSync(benchFile, `${readFileSync(benchFile, 'utf8')}\n  - name: lab-3\n    virtual: win11\n`);

      // Without --resume the folder is refused: lab-1's run did not finish.
      const plain = await runAgent(['bench', 'run', benchFile, '--out', out], env);
      expect(plain.code).toBe(64);
      expect(plain.stderr).toContain(`station lab-1 holds a run that did not finish`);
      expect(plain.stderr).toContain(`--resume ${out}`);
      // --resume is its own --out.
      const both = await runAgent(['bench', 'run', benchFile, '--resume', out, '--out', join(out, '..', 'other')], env);
      expect(both.code).toBe(64);
      expect(both.stderr).toMatch(/leave out --out/);

      const resumed = await runAgent(['bench', 'run', benchFile, '--resume', out, '--log-level', 'warn'], env);
      // lab-2 ended product (no profile): the bench's exit code is the worst of its stations'.
      expect(resumed.code, resumed.stderr.slice(-3000)).toBe(1);
      expect(resumed.stdout).toMatch(/lab-1\s+passed \(resumed\)/);
      expect(resumed.stdout).toMatch(/lab-2\s+product \(finished before, kept\): .*profile/);

      await expectResealedOnce(sim, 'by the first bench process');

      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.stations.map((st: any) => [st.name, st.result, st.resume])).toEqual([['lab-1', 'passed', 'resumed'], ['lab-2', 'product', 'kept']]);
      // The bench began with the first process; its time covers both.
      expect(Date.parse(summary.startedAt)).toBeLessThan(killedAt);
      expect(Date.parse(summary.resumedAt)).toBeGreaterThan(killedAt);
      expect(Date.parse(summary.startedAt) + summary.durationMs).toBeGreaterThan(Date.parse(summary.resumedAt));
      expect(readFileSync(join(out, 'lab-2', 'report.json')).equals(lab2Report), 'the finished station is not run again').toBe(true);
      const report = JSON.parse(readFileSync(join(out, 'lab-1', 'report.json'), 'utf8'));
      const actions = report.steps.map((st: { screen: string; action: string }) => `${st.screen}: ${st.action}`).join('\n');
      expect(actions).toMatch(/resume/i);
      expect(actions).toMatch(/provisioning-success: press Reseal/);
      expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('lab-1');
      const index = readFileSync(join(out, 'index.html'), 'utf8');
      expect(index).toMatch(/resumed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, after its process stopped/);
      expect(index).toContain('went on from its journal after the bench stopped');
      expect(index).toContain('had finished before the bench stopped');
      for (const file of filesUnder(out)) expect(readFileSync(file).includes(WIFI_KEY), file).toBe(false);

      // Once the summary is written, the bench run is finished: nothing to resume.
      const again = await runAgent(['bench', 'run', benchFile, '--resume', out], env);
      expect(again.code).toBe(64);
      expect(again.stderr).toMatch(/finished .*summary\.json.*nothing to resume/);
    } finally {
      await sim.stop();
    }
  }, 420_000);

  it('refuses a folder with no journal (missing or not a run folder) with exit 64, naming the file', async () => {
    const missing = join(tmp('missing'), 'no-such-run');
    const r1 = await runAgent(['run', '--resume', missing]);
    expect(r1.code).toBe(64);
    expect(r1.stderr).toContain(join(missing, JOURNAL_FILE));
    const empty = tmp('empty');
    mkdirSync(join(empty, 'frames'));
    const r2 = await runAgent(['run', '--resume', empty]);
    expect(r2.code).toBe(64);
    expect(r2.stderr).toContain(`${join(empty, JOURNAL_FILE)}: no journal`);
    // Options that define a run come from its journal: giving them again is a usage error.
    const r3 = await runAgent(['run', '--resume', empty, '--hid', 'tcp://127.0.0.1:1', '--capture', 'http://127.0.0.1:1/stream']);
    expect(r3.code).toBe(64);
    expect(r3.stderr).toMatch(/leave out --hid, --capture/);
  }, 60_000);

  it('asks for the Wi-Fi key again when the run has not passed the network screen, and journals no key', async () => {
    const sim = await startSim(['--scenario', 'win11', '--serial', 'tcp', '--speed', '600']);
    const out = join(tmp('early'), 'run');
    try {
      const first = startAgent(['run', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--out', out,
        '--wifi-ssid', 'LabNet', '--log-level', 'warn'], { AUTOPILOT_HIL_WIFI_KEY: WIFI_KEY });
      await until('a first step journaled', async () => journalText(out).includes('"kind":"step"'), 120_000);
      first.child.kill('SIGKILL');
      await first.exited;
      expect(journalText(out)).toContain('"wifi":{"ssid":"LabNet"}');
      expect(journalText(out)).not.toContain(WIFI_KEY);
      const r = await runAgent(['run', '--resume', out], { AUTOPILOT_HIL_WIFI_KEY: '' });
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(join(out, JOURNAL_FILE));
      expect(r.stderr).toMatch(/AUTOPILOT_HIL_WIFI_KEY/);
    } finally {
      await sim.stop();
    }
  }, 180_000);

  it('counts an action as taken when the agent died between writing it and finishing it (kill -9 inside the action)', async () => {
    const dir = tmp('crash');
    // A real agent process that journals an intent and is killed -9 in the middle of performing it.
    const code = `
      const { FileJournal } = await import(${JSON.stringify(join(ROOT, 'agent/engine/journal.ts'))});
      const j = FileJournal.start(${JSON.stringify(dir)}, { flow: 'technician', os: 'auto', station: 's', outDir: ${JSON.stringify(dir)},
        expected: {}, retries: 1, reseal: true, wifi: { ssid: 'LabNet', key: 'secret-key-123' } }, { hid: 'tcp://h:1', capture: 'http://c/stream' }, new Date());
      await j.once('provision#1', async () => { process.kill(process.pid, 'SIGKILL'); await new Promise(() => {}); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx/esm', '--input-type=module', '-e', code], { cwd: ROOT, stdio: 'ignore' });
    const signal = await new Promise((resolve) => child.once('exit', (_c, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).not.toContain('secret-key-123');
    const run = readJournal(dir);
    expect(run.taken).toEqual([expect.objectContaining({ key: 'provision#1', done: false })]);
    expect(takenNote(run)).toMatch(/begun when the agent stopped, so counted as taken .*: provision#1/);
    const journal = FileJournal.resume(run);
    let performed = 0;
    expect(await journal.once('provision#1', async () => { performed++; })).toBe(false);
    expect(performed).toBe(0);
    expect(journal.has('provision#1')).toBe(true);
    expect(await journal.once('reseal', async () => { performed++; })).toBe(true);
    journal.close();
    expect(readJournal(dir).taken.map((a) => [a.key, a.done])).toEqual([['provision#1', false], ['reseal', true]]);
  }, 60_000);
});
