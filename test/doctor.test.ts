// `autopilot-hil doctor` as a bench engineer runs it: on this machine (no USB bus), against a running virtual
// device (its board over TCP, its MJPEG video), against a board that is not there, and against a grabber
// that froze or lost its signal (the virtual device's video faults).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../agent/checks/types.ts';
import { runAgent, startSim, type SimProcess } from './helpers/processes.ts';

const checks = (stdout: string): CheckResult[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as CheckResult);
const byName = (list: CheckResult[], re: RegExp) => {
  const hit = list.find((c) => re.test(c.name));
  if (!hit) throw new Error(`no check named ${re} in: ${list.map((c) => c.name).join(', ')}`);
  return hit;
};

/** A TCP port on which nothing listens (bound, then closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('autopilot-hil doctor on this machine', () => {
  it('says there is no USB bus, still checks ffmpeg and OCR, and exits 0: nothing named is broken', async () => {
    const r = await runAgent(['doctor', '--json']);
    const list = checks(r.stdout);
    for (const c of list) expect(Object.keys(c).sort()).toEqual(expect.arrayContaining(['detail', 'name', 'ok']));
    const usb = byName(list, /^usb$/);
    if (!existsSync('/sys/bus/usb')) expect(usb.detail).toMatch(/no USB bus on this machine/);
    expect(usb.ok).toBe(true);
    expect(byName(list, /^grabbers$|^grabber /).detail).toBeTruthy();
    expect(byName(list, /^ffmpeg$/)).toMatchObject({ ok: true, detail: expect.stringMatching(/ffmpeg version \d/) });
    expect(byName(list, /^ocr$/)).toMatchObject({ ok: true, detail: expect.stringMatching(/reads the known frame right: oobe-region \(win11\) with "United States" selected/) });
    expect(r.code).toBe(list.every((c) => c.ok) ? 0 : 2);
    expect(r.code).toBe(0);
  });

  it('without --json, one line per check: ok or FAIL, the part, what was seen', async () => {
    const r = await runAgent(['doctor']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toMatch(/^( {2}ok|FAIL) {2}\S[^:]*: \S/);
    expect(lines.find((l) => l.includes('  ocr: '))).toMatch(/^ {2}ok/);
  });

  it('a board that does not answer: the line says it cannot be reached and what to do; exit 2', async () => {
    const port = await closedPort();
    const r = await runAgent(['doctor', '--json', '--hid', `tcp://127.0.0.1:${port}`, '--timeout', '2']);
    const board = byName(checks(r.stdout), /^board tcp:/);
    expect(board.ok).toBe(false);
    expect(board.detail).toMatch(/cannot be reached: .*(refused|ECONNREFUSED)/i);
    expect(board.fix).toMatch(/nothing listens at tcp:\/\/127\.0\.0\.1:\d+/);
    expect(r.code).toBe(2);
  });

  it('a --hid that is no board spec at all is bad usage: exit 64 naming --hid', async () => {
    const r = await runAgent(['doctor', '--hid', 'COM-nonsense']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--hid: HID spec 'COM-nonsense' is not understood/);
  });
});

describe('autopilot-hil doctor against the virtual device', () => {
  let sim: SimProcess;
  let hid: string;

  beforeAll(async () => {
    sim = await startSim(['--scenario', 'win11', '--serial', 'tcp', '--size', '1280x720', '--cursor']);
    hid = `tcp://${sim.info.tcp}`;
    const until = Date.now() + 60_000;
    while ((await sim.state()).screen !== 'oobe-region') {
      if (Date.now() > until) throw new Error('the virtual device did not reach the region page');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('board ok with its PING flags (the device reads the keyboard; Caps Lock as the device set it), frames ok, OCR ok; exit 0', async () => {
    // Caps Lock on, so the flags the board reports are the device's, not defaults.
    expect((await runAgent(['keys', '--hid', hid, 'CapsLock'])).code).toBe(0);
    try {
      const r = await runAgent(['doctor', '--json', '--hid', hid, '--capture', sim.info.video]);
      const list = checks(r.stdout);
      const board = byName(list, /^board tcp:/);
      expect(board.ok).toBe(true);
      expect(board.detail).toMatch(/^answers PING in \d+ ms; keyboard online \(the device reads it\); LEDs: Caps Lock on, Num Lock off, Scroll Lock off$/);
      const frames = byName(list, /^frames http:/);
      expect(frames.ok).toBe(true);
      // A still page: the bytes stay the same, and the pointer moved by the board shows it is live.
      expect(frames.detail).toMatch(/^1280x720 frames arrive.*(change|pointer moved)/);
      expect(byName(list, /^ocr$/).ok).toBe(true);
      expect(r.code).toBe(0);
    } finally {
      await runAgent(['keys', '--hid', hid, 'CapsLock']);
    }
  });

  it('a bench file: each station checked as its board and its video together', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-doctor-'));
    const bench = join(dir, 'bench.yaml');
    writeFileSync(bench, `stations:\n  - name: a\n    hid: ${hid}\n    capture: ${sim.info.video}\n  - name: v\n    virtual: win11\n`);
    const r = await runAgent(['doctor', '--json', '--bench', bench]);
    const list = checks(r.stdout);
    expect(byName(list, /^station a board /)).toMatchObject({ ok: true, detail: expect.stringMatching(/keyboard online/) });
    expect(byName(list, /^station a frames /).ok).toBe(true);
    expect(byName(list, /^station v$/).detail).toMatch(/virtual device/);
    expect(r.code).toBe(0);
  });

  it('a frozen grabber (the same frame again and again, even after the pointer moved) fails with what to do; exit 2', async () => {
    const video = new URL(sim.info.video);
    const freeze = await fetch(new URL('/video/freeze?ms=30000', video), { method: 'POST' });
    expect(freeze.status).toBe(200);
    try {
      const r = await runAgent(['doctor', '--json', '--hid', hid, '--capture', sim.info.video]);
      const frames = byName(checks(r.stdout), /^frames http:/);
      expect(frames.ok).toBe(false);
      expect(frames.detail).toMatch(/frozen: the same bytes for \d+\.\d s, even after the pointer moved/);
      expect(frames.fix).toMatch(/replug/);
      expect(r.code).toBe(2);
    } finally {
      await fetch(new URL('/video/freeze?ms=0', video), { method: 'POST' });
    }
  });

  it('a grabber with no signal (black frames) fails: power the device on, check the HDMI cable; exit 2', async () => {
    const video = new URL(sim.info.video);
    expect((await fetch(new URL('/video/black?ms=30000', video), { method: 'POST' })).status).toBe(200);
    try {
      const until = Date.now() + 10_000;
      for (;;) {
        const r = await runAgent(['doctor', '--json', '--capture', sim.info.video]);
        const frames = byName(checks(r.stdout), /^frames http:/);
        if (frames.ok && Date.now() < until) continue; // the black frame had not reached the stream yet
        expect(frames.ok).toBe(false);
        expect(frames.detail).toMatch(/show no picture \(a black or uniform frame/);
        expect(frames.fix).toMatch(/HDMI cable/);
        expect(r.code).toBe(2);
        break;
      }
    } finally {
      await fetch(new URL('/video/black?ms=0', video), { method: 'POST' });
    }
  });
});
