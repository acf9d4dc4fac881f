// `autopilot-hil calibrate` against the virtual device playing a grabber with black bars (the picture smaller
// inside the frame), overscan (the screen's edges cut off, the rest blown up) and a visible pointer: the
// profile must find the bars, time the keys, and fit a pointer mapping that lands where it aims; a run then
// uses the profile. And the profile's own checks.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCalibration, confirmTimeoutFor } from '../agent/calibration/apply.ts';
import { loadCalibration, parseCalibration, type Calibration } from '../agent/calibration/profile.ts';
import { openHid } from '../drivers/hid/serial-board.ts';
import { runAgent, startSim, type SimProcess } from './helpers/processes.ts';

const W = 1280, H = 720;
// --border top,bottom,left,right as fractions of the video: 43 px above and below, 160 px left and right.
const BARS = { top: Math.round(0.06 * H), bottom: Math.round(0.06 * H), left: Math.round(0.125 * W), right: Math.round(0.125 * W) };
const ACTIVE = { x0: BARS.left, y0: BARS.top, x1: W - BARS.right, y1: H - BARS.bottom };
const AW = ACTIVE.x1 - ACTIVE.x0, AH = ACTIVE.y1 - ACTIVE.y0;
// --overscan 0.04: 4% of the device's screen cut from each edge (51 and 29 of its 1280x720 pixels).
const OVERSCAN = 0.04;
const CROP = { x: Math.round(OVERSCAN * W), y: Math.round(OVERSCAN * H) };
/** Where a device screen position (0..1) shows in the video, frame pixels (the grabber's geometry). */
const shown = (x: number, y: number) => ({
  x: ACTIVE.x0 + ((x * W - CROP.x) / (W - 2 * CROP.x)) * AW,
  y: ACTIVE.y0 + ((y * H - CROP.y) / (H - 2 * CROP.y)) * AH,
});

async function untilScreen(sim: SimProcess, screen: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while ((await sim.state()).screen !== screen) {
    if (Date.now() > until) throw new Error(`the virtual device did not reach ${screen}: ${(await sim.state()).screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lastMove = async (sim: SimProcess) => {
  const moves = (await sim.state()).hid.filter((e) => e.type === 'move') as unknown as { x: number; y: number }[];
  return moves[moves.length - 1];
};

describe('autopilot-hil calibrate on a virtual device with black bars and a pointer', () => {
  let sim: SimProcess;
  let dir: string;
  let cal: Calibration;
  let out: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    sim = await startSim(['--scenario', 'win11', '--serial', 'tcp', '--size', `${W}x${H}`, '--cursor', '--border', '0.06,0.06,0.125,0.125', '--overscan', String(OVERSCAN)]);
    await untilScreen(sim, 'oobe-region');
    dir = mkdtempSync(join(tmpdir(), 'ahil-cal-'));
    out = await runAgent(['calibrate', '--station', 'bench-a', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--out', dir]);
    cal = loadCalibration(join(dir, 'bench-a.json'));
  }, 120_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('writes calibration/NAME.json (exit 0) and says what it measured', () => {
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`wrote ${join(dir, 'bench-a.json')}`);
    expect(cal).toMatchObject({ version: 1, station: 'bench-a', frame: { width: W, height: H } });
    expect(Date.now() - Date.parse(cal.measuredAt)).toBeLessThan(120_000);
    expect(cal.source).toEqual({ hid: `tcp://${sim.info.tcp}`, capture: sim.info.video });
  });

  it('the active area is the picture inside the bars, to the pixel or two', () => {
    for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(cal.activeArea[k] - ACTIVE[k]), k).toBeLessThanOrEqual(2);
    expect(out.stdout).toMatch(/bars: top 4\d, bottom 4\d, left 1[56]\d, right 1[56]\d px/);
  });

  it('times a key to the screen: arrow down and up on the region list, six presses, and leaves the list as it was', async () => {
    expect(cal.keyLatencyMs).not.toBeNull();
    const k = cal.keyLatencyMs!;
    expect(k.samples).toBe(6);
    expect(k.p50).toBeGreaterThan(0);
    expect(k.p95).toBeGreaterThanOrEqual(k.p50);
    const state = await sim.state();
    expect(state.screen).toBe('oobe-region');
    expect((state.choices as { region: string }).region).toBe('United States');
    const keys = state.hid.filter((e) => e.type === 'key' && e.down).map((e) => e.code);
    expect(keys).toEqual(['ArrowDown', 'ArrowUp', 'ArrowDown', 'ArrowUp', 'ArrowDown', 'ArrowUp']);
    // A slow station gets more time to show an action, never less than the flow's own.
    expect(confirmTimeoutFor(cal, 20_000)).toBe(Math.max(20_000, Math.round(3 * k.p95 + 1000)));
    expect(confirmTimeoutFor({ ...cal, keyLatencyMs: { p50: 4000, p95: 9000, samples: 6 } }, 20_000)).toBe(28_000);
  });

  it('fits where the pointer shows: the device screen mapped into the bars and past their edges (overscan); small error after the fit, large without', () => {
    const p = cal.pointer!;
    expect(p).not.toBeNull();
    // seen = scale * sent + offset (fractions of the frame), as the grabber's geometry has it.
    for (const [sent, want] of [[0, shown(0, 0)], [1, shown(1, 1)], [0.5, shown(0.5, 0.5)]] as const) {
      expect(Math.abs((p.scaleX * sent + p.offsetX) * W - want.x), `x at ${sent}`).toBeLessThanOrEqual(2);
      expect(Math.abs((p.scaleY * sent + p.offsetY) * H - want.y), `y at ${sent}`).toBeLessThanOrEqual(2);
    }
    expect(p.errorPx).toBeLessThan(3);
    expect(p.rawErrorPx).toBeGreaterThan(30); // sending frame positions as they are would miss by that much
    expect(cal.overscan!.x).toBeCloseTo(OVERSCAN, 2);
    expect(cal.overscan!.y).toBeCloseTo(OVERSCAN, 2);
    expect(out.stdout).toMatch(/overscan cuts 4\.\d% left and right, 4\.\d% top and bottom/);
  });

  it('a run\'s board with the profile applied lands the pointer where the engine aims (a point of the active picture), within 2 px', async () => {
    const hid = await openHid(`tcp://${sim.info.tcp}`);
    try {
      const board = applyCalibration(hid, cal);
      expect(board.description).toMatch(/pointer calibrated for bench-a/);
      // The engine aims at fractions of the active picture (engine/actions.ts pointFor); near its edges the
      // overscan shifts an uncorrected aim by up to 4% of the screen.
      for (const [ax, ay, uncorrectedMiss] of [[0.1, 0.9, 10], [0.9, 0.15, 10], [0.5, 0.5, 0]]) {
        await board.move(ax, ay);
        const sent = await lastMove(sim);
        const at = shown(sent.x, sent.y);
        expect(Math.abs(at.x - (ACTIVE.x0 + ax * AW)), `x for ${ax}`).toBeLessThanOrEqual(2);
        expect(Math.abs(at.y - (ACTIVE.y0 + ay * AH)), `y for ${ay}`).toBeLessThanOrEqual(2);
        const uncorrected = shown(ax, ay);
        expect(Math.hypot(uncorrected.x - (ACTIVE.x0 + ax * AW), uncorrected.y - (ACTIVE.y0 + ay * AH))).toBeGreaterThanOrEqual(uncorrectedMiss);
      }
      // Everything else goes through: a serial board's status and counters.
      expect((await board.status()).keyboardOnline).toBe(true);
      expect((board as typeof hid).counters.requests).toBeGreaterThan(0);
    } finally {
      await hid.close();
    }
  });

  it('run --calibration takes the profile (a bad one is refused before anything is opened)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, readFileSync(join(dir, 'bench-a.json'), 'utf8').replace(/"scaleX": [\d.]+/, '"scaleX": "fast"'));
    const r = await runAgent(['run', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--calibration', bad, '--out', join(dir, 'run')]);
    expect(r.code).toBe(64);
    const line = readFileSync(bad, 'utf8').split('\n').findIndex((l) => l.includes('"scaleX"')) + 1;
    expect(r.stderr).toContain(`${bad}:${line}: pointer.scaleX:`);
  });
});

describe('autopilot-hil calibrate where nothing can be measured harmlessly', () => {
  let sim: SimProcess;
  beforeAll(async () => {
    // The sign-in page (no list to move in) and no pointer drawn.
    sim = await startSim(['--scenario', 'win11-wired', '--serial', 'tcp', '--size', `${W}x${H}`, '--speed', '600']);
    await untilScreen(sim, 'entra-signin', 90_000);
  }, 120_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('says which measurement it skipped and why, presses no key, still writes the picture geometry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-cal-'));
    const r = await runAgent(['calibrate', '--station', 'b', '--hid', `tcp://${sim.info.tcp}`, '--capture', sim.info.video, '--out', dir, '--timeout', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/key latency: skipped: the screen is entra-signin, which has no key that shows harmlessly/);
    expect(r.stdout).toMatch(/pointer: skipped: no pointer seen/);
    const cal = loadCalibration(join(dir, 'b.json'));
    expect(cal.keyLatencyMs).toBeNull();
    expect(cal.pointer).toBeNull();
    expect(cal.skipped?.keyLatency).toMatch(/entra-signin/);
    expect(cal.activeArea).toEqual({ x0: 0, y0: 0, x1: W, y1: H });
    expect((await sim.state()).hid.filter((e) => e.type === 'key')).toEqual([]);
    expect((await sim.state()).screen).toBe('entra-signin');
  });
});

describe('calibration profiles: bad ones are refused naming the file, line and field', () => {
  const good = (): Record<string, unknown> => ({
    version: 1, station: 'a', measuredAt: '2026-01-02T03:04:05.000Z', frame: { width: 1920, height: 1080 },
    activeArea: { x0: 0, y0: 0, x1: 1920, y1: 1080 }, keyLatencyMs: { p50: 120, p95: 300, samples: 6 },
    pointer: { scaleX: 1, offsetX: 0, scaleY: 1, offsetY: 0, errorPx: 0.5, points: 5 },
  });
  const text = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

  it('reads a good one', () => {
    expect(parseCalibration(text(good()), 'a.json').pointer?.scaleX).toBe(1);
  });

  it('a wrong type, a missing field, an unknown field, an area outside the frame, another version', () => {
    const c1 = good(); (c1.keyLatencyMs as Record<string, unknown>).p95 = 'slow';
    expect(() => parseCalibration(text(c1), 'a.json')).toThrow(/^a\.json:\d+: keyLatencyMs\.p95: .*got "slow"/);
    const c2 = good(); delete c2.frame;
    expect(() => parseCalibration(text(c2), 'a.json')).toThrow(/^a\.json:1: frame: .*missing/);
    const c3 = { ...good(), pointerOffset: 3 };
    expect(() => parseCalibration(text(c3), 'a.json')).toThrow(/pointerOffset/);
    const c4 = { ...good(), activeArea: { x0: 0, y0: 0, x1: 2000, y1: 1080 } };
    expect(() => parseCalibration(text(c4), 'a.json')).toThrow(/^a\.json:\d+: activeArea: reaches outside the 1920x1080 frame/);
    expect(() => parseCalibration(text({ ...good(), version: 2 }), 'a.json')).toThrow(/^a\.json:2: version: this agent reads calibration version 1, the file has 2/);
    expect(() => parseCalibration('{ "version": 1,', 'a.json')).toThrow(/^a\.json:1: not valid JSON/);
  });

  it('the line named is the field\'s line in the file', () => {
    const c = good(); (c.pointer as Record<string, unknown>).scaleY = -1;
    const t = text(c);
    const line = t.split('\n').findIndex((l) => l.includes('"scaleY"')) + 1;
    expect(() => parseCalibration(t, 'x.json')).toThrow(new RegExp(`^x\\.json:${line}: pointer\\.scaleY: `));
  });

  it('a missing file is bad usage too, naming it', () => {
    expect(() => loadCalibration('/nonexistent/c.json')).toThrow(/calibration file \/nonexistent\/c\.json: cannot be read \(ENOENT\)/);
  });

  it('calibrate without --station, or with --hid but no --capture, exits 64 saying what is missing', async () => {
    const a = await runAgent(['calibrate', '--hid', 'tcp://127.0.0.1:1', '--capture', 'http://127.0.0.1:1/stream']);
    expect(a.code).toBe(64);
    expect(a.stderr).toMatch(/--station NAME is needed/);
    const b = await runAgent(['calibrate', '--station', 'x', '--hid', 'tcp://127.0.0.1:1']);
    expect(b.code).toBe(64);
    expect(b.stderr).toMatch(/--hid and --capture go together/);
  });
});

describe('autopilot-hil calibrate through a PiKVM (its HTTP API for the keys, the pointer and the video)', () => {
  const USER = 'technician';
  const PASSWORD = 'pikvm-secret-2026';

  it('measures the bars, the key latency and the pointer as with a serial board, and names the PiKVM as the source', async () => {
    // The virtual PiKVM takes these credentials (a child process inherits them); the agent gets them its own way.
    process.env.AUTOPILOT_HIL_SIM_PIKVM_USER = USER;
    process.env.AUTOPILOT_HIL_SIM_PIKVM_PASSWORD = PASSWORD;
    const sim = await startSim(['--scenario', 'win11', '--serial', 'tcp', '--size', `${W}x${H}`, '--cursor', '--border', '0.06,0.06,0.125,0.125', '--pikvm'])
      .finally(() => {
        delete process.env.AUTOPILOT_HIL_SIM_PIKVM_USER;
        delete process.env.AUTOPILOT_HIL_SIM_PIKVM_PASSWORD;
      });
    try {
      await untilScreen(sim, 'oobe-region');
      const pikvm = `pikvm:${(sim.info as { pikvm?: string }).pikvm}`;
      const dir = mkdtempSync(join(tmpdir(), 'ahil-cal-pikvm-'));
      const r = await runAgent(['calibrate', '--station', 'kvm-a', '--hid', pikvm, '--capture', pikvm, '--out', dir],
        { AUTOPILOT_HIL_PIKVM_USER: USER, AUTOPILOT_HIL_PIKVM_PASSWORD: PASSWORD });
      expect(r.code, r.stderr).toBe(0);
      const c = loadCalibration(join(dir, 'kvm-a.json'));
      expect(c.source).toEqual({ hid: pikvm, capture: pikvm });
      for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(c.activeArea[k] - ACTIVE[k]), k).toBeLessThanOrEqual(2);
      expect(c.keyLatencyMs?.samples).toBe(6);
      expect(c.pointer).not.toBeNull();
      expect(c.pointer!.errorPx).toBeLessThan(3);
      // The keys went through the PiKVM, and the region list is as it was.
      const state = await sim.state();
      expect(state.hid.filter((e) => e.type === 'key' && e.down).map((e) => e.code)).toEqual(['ArrowDown', 'ArrowUp', 'ArrowDown', 'ArrowUp', 'ArrowDown', 'ArrowUp']);
      expect(r.stdout + r.stderr + readFileSync(join(dir, 'kvm-a.json'), 'utf8')).not.toContain(PASSWORD);
    } finally {
      await sim.stop();
    }
  }, 180_000);
});
