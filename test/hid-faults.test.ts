// The keyboard link that loses nothing: the host driver against the virtual device's board over a faulty line
// (bytes corrupted and lost both ways), a board that restarts, and a port that vanishes for 3 s. The device's
// own record (/state `hid`) must hold exactly the key events the test sent: none lost, none doubled.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHid, type OpenHidOptions, type SerialBoard } from '../drivers/hid/serial-board.ts';
import type { BoardStatus } from '../drivers/hid/types.ts';
import { SIM_BIN, startSim, type SimProcess } from './helpers/processes.ts';

/** Keys that change nothing on the device's setup pages, so typing them for long leaves the flow alone. */
const KEYS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((c) => `Key${c}`),
  ...'0123456789'.split('').map((d) => `Digit${d}`),
  ...[13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24].map((n) => `F${n}`),
];

interface BoardLine {
  line: 'pty' | 'tcp';
  stats: { frames: number; crcErrors: number; timeouts: number; repeats: number; nones: number; unchanged: number; restarts: number };
  faults: { bytesIn: number; corruptedIn: number; droppedIn: number; bytesOut: number; corruptedOut: number; droppedOut: number } | null;
}

const boardUrl = (sim: SimProcess, path = '') => sim.info.state.replace(/\/state$/, `/board${path}`);

async function boardLine(sim: SimProcess, line: 'pty' | 'tcp'): Promise<BoardLine> {
  const report = (await (await fetch(boardUrl(sim))).json()) as { lines: BoardLine[] };
  return report.lines.find((l) => l.line === line)!;
}

async function keyEvents(sim: SimProcess, from: number): Promise<string[]> {
  const state = await sim.state();
  return state.hid.slice(from).filter((e) => e.type === 'key').map((e) => `${e.code} ${e.down ? 'down' : 'up'}`);
}

/**
 * Sends `pairs` key presses (down and up) over many keys, half as down()/up() and half as tap(); calls
 * `midway` once after `at` pairs without waiting for it. Returns the events sent, in order.
 */
async function typePairs(hid: SerialBoard, pairs: number, midway?: { at: number; run: () => Promise<unknown> }): Promise<{ sent: string[]; trigger: Promise<unknown> }> {
  const sent: string[] = [];
  let trigger: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < pairs; i++) {
    if (midway && i === midway.at) trigger = midway.run();
    const key = KEYS[(i * 7) % KEYS.length];
    if (i % 2 === 0) {
      await hid.down(key);
      await hid.up(key);
    } else {
      await hid.tap(key);
    }
    sent.push(`${key} down`, `${key} up`);
  }
  return { sent, trigger };
}

/** Fast settings for a line where no real USB-serial adapter sits between host and board. */
const LOCAL: OpenHidOptions = { pingIntervalMs: 0, responseTimeoutMs: 300, retryDelayMs: 20, frameGapMs: 5 };

describe('a line that corrupts 1% and loses 0.5% of its bytes, both ways', () => {
  let sim: SimProcess;

  beforeAll(async () => {
    // The board's wait for a cut request is 20 ms instead of the protocol's 100 (time compressed, as --speed
    // does for setup): 10,000 events then take about half a minute instead of a minute and a half.
    sim = await startSim(['--scenario', 'win11-wired', '--speed', '600', '--size', '640x480', '--fps', '1',
      '--line-corrupt', '0.01', '--line-drop', '0.005', '--line-seed', '11', '--line-frame-timeout', '20']);
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('carries 10,000 key events over TCP: the device saw exactly those, none lost, none doubled', async () => {
    const hid = await openHid(`tcp://${sim.info.tcp}`, LOCAL);
    try {
      const from = (await sim.state()).hid.length;
      const { sent } = await typePairs(hid, 5000);
      expect(sent).toHaveLength(10_000);
      const seen = await keyEvents(sim, from);
      expect(seen.length).toBe(sent.length);
      expect(seen).toEqual(sent);
      expect(hid.counters).toMatchObject({ failures: 0, keyEvents: 10_000 });

      const tcp = await boardLine(sim, 'tcp');
      // The line really was that bad, both ways...
      expect(tcp.faults!.corruptedIn / tcp.faults!.bytesIn).toBeGreaterThan(0.007);
      expect(tcp.faults!.droppedIn / tcp.faults!.bytesIn).toBeGreaterThan(0.003);
      expect(tcp.faults!.corruptedOut / tcp.faults!.bytesOut).toBeGreaterThan(0.007);
      expect(tcp.faults!.droppedOut / tcp.faults!.bytesOut).toBeGreaterThan(0.003);
      expect(tcp.stats.crcErrors).toBeGreaterThan(100);
      expect(tcp.stats.timeouts).toBeGreaterThan(100);
      // ...and lost answers were asked for again with REPEAT. A host that sent the key again instead would make
      // the board run it twice about once per lost answer; with REPEAT that happens only when the REPEAT itself
      // is garbled too (and a second run of a KEY changes nothing the device sees).
      expect(hid.counters.repeats).toBeGreaterThan(500);
      expect(tcp.stats.unchanged).toBeLessThan(tcp.stats.repeats / 3);
    } finally {
      await hid.close();
    }
  }, 150_000);

  it('carries 1,000 key events over the pseudo-terminal at 115200 8N1 just as exactly', async () => {
    const hid = await openHid(`serial:${sim.info.serial}`, { ...LOCAL, frameGapMs: 10 });
    try {
      const from = (await sim.state()).hid.length;
      const { sent } = await typePairs(hid, 500);
      expect(await keyEvents(sim, from)).toEqual(sent);
      expect(hid.counters.failures).toBe(0);
      const pty = await boardLine(sim, 'pty');
      expect(pty.faults!.corruptedIn + pty.faults!.droppedIn).toBeGreaterThan(50);
      expect(pty.faults!.corruptedOut + pty.faults!.droppedOut).toBeGreaterThan(50);
    } finally {
      await hid.close();
    }
  }, 60_000);
});

describe('a board that restarts, and a port that vanishes, in the middle of typing', () => {
  let sim: SimProcess;

  beforeAll(async () => {
    sim = await startSim(['--scenario', 'win11-wired', '--speed', '600', '--size', '640x480', '--fps', '1']);
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
  });

  const post = (path: string) => fetch(boardUrl(sim, path), { method: 'POST' });

  it('notices a restarted board (NONE to REPEAT), sends the lost key again, and the events stay exact', async () => {
    const hid = await openHid(`serial:${sim.info.serial}`, { ...LOCAL, responseTimeoutMs: 500 });
    const restarted: string[] = [];
    hid.onEvent((e) => { if (e.type === 'restarted') restarted.push(e.command); });
    try {
      const from = (await sim.state()).hid.length;
      const { sent, trigger } = await typePairs(hid, 300, { at: 100, run: () => post('/restart?ms=300') });
      expect(((await trigger) as Response).status).toBe(200);
      expect(await keyEvents(sim, from)).toEqual(sent);
      expect(restarted).toHaveLength(1); // a request fell into the board's restart, and was sent again
      expect(hid.counters).toMatchObject({ restarts: 1, failures: 0 });
      expect((await boardLine(sim, 'pty')).stats.nones).toBe(1);
    } finally {
      await hid.close();
    }
  }, 30_000);

  for (const line of ['pty', 'tcp'] as const) {
    it(`waits out a 3 s unplug over ${line}, reopens the port, releases every key, and the events stay exact`, async () => {
      const spec = line === 'pty' ? `serial:${sim.info.serial}` : `tcp://${sim.info.tcp}`;
      const hid = await openHid(spec, { ...LOCAL, pingIntervalMs: 100 });
      const links: boolean[] = [true]; // open: the link is up
      hid.onStatus((s: BoardStatus) => { if (s.linkUp !== links.at(-1)) links.push(s.linkUp!); });
      try {
        const from = (await sim.state()).hid.length;
        const started = Date.now();
        const { sent, trigger } = await typePairs(hid, 300, { at: 100, run: () => post('/unplug?ms=3000') });
        expect(((await trigger) as Response).status).toBe(202);
        expect(Date.now() - started).toBeGreaterThan(3000); // it did wait for the port
        expect(await keyEvents(sim, from)).toEqual(sent);
        expect(links).toEqual([true, false, true]); // the engine heard the link go and come back
        expect(hid.counters).toMatchObject({ reopens: 1, failures: 0 });
        const state = await sim.state();
        expect(state.hid.slice(from).filter((e) => e.type === 'clear')).toHaveLength(1); // CLEAR_HID once it was back
      } finally {
        await hid.close();
      }
    }, 30_000);
  }

  for (const fault of ['/unplug?ms=3000', '/restart?ms=300']) {
    it(`types text across a board fault (${fault}): every character arrives once, capitals still capital`, async () => {
      // The sign-in page reads the keyboard and keeps what is typed.
      const until = Date.now() + 30_000;
      while ((await sim.state()).screen !== 'entra-signin') {
        if (Date.now() > until) throw new Error(`the device is on ${(await sim.state()).screen}, not the sign-in page`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const hid = await openHid(`serial:${sim.info.serial}`, { ...LOCAL, responseTimeoutMs: 500, keyGapMs: 0, shiftGapMs: 2 });
      let acknowledged = 0;
      let trigger: Promise<Response> | null = null;
      // The fault comes once Shift is down for the 'L' of "LAB" (the 23rd request acknowledged), with the L on
      // its way: after a restart Shift must be pressed again before the L goes again.
      hid.onEvent((e) => { if (e.type === 'done' && ++acknowledged === 23) trigger = post(fault); });
      try {
        const text = 'Autopilot-LAB_2026! Pre-Provisioning@CONTOSO.com #42';
        const before = (await sim.state()).typed.length;
        await hid.type(text);
        expect((await trigger!)?.ok).toBe(true);
        expect((await sim.state()).typed.slice(before)).toBe(text);
        expect(hid.counters.failures).toBe(0);
        expect(hid.counters.reopens + hid.counters.restarts).toBe(1);
      } finally {
        await hid.close();
      }
    }, 30_000);
  }

  it('notices a vanished port while idle (the PING loop), and gives up after the reopen time naming what it tried', async () => {
    const hid = await openHid(`serial:${sim.info.serial}`, { ...LOCAL, pingIntervalMs: 100, reopenTimeoutMs: 1000 });
    const links: boolean[] = [];
    hid.onStatus((s) => { if (s.linkUp !== (links.at(-1) ?? true)) links.push(s.linkUp!); });
    try {
      expect((await post('/unplug?ms=2500')).status).toBe(202);
      expect((await post('/unplug?ms=2500')).status).toBe(409); // already unplugged
      for (let i = 0; i < 50 && !links.includes(false); i++) await new Promise((r) => setTimeout(r, 20));
      expect(links).toEqual([false]); // heard at once, with nothing being typed
      const error = await hid.tap('KeyA').then(() => null, (e: Error) => e);
      expect(error?.message).toMatch(new RegExp(`the HID board did not come back: tried to reopen serial ${sim.info.serial} \\d+ times over 1\\.\\d s; the last try said: cannot open serial port`));
      // Once it is back, the port is reopened, every key released first, and the next request goes through.
      const from = (await sim.state()).hid.length;
      for (let i = 0; i < 100 && (await (await fetch(boardUrl(sim))).json()).unplugged; i++) await new Promise((r) => setTimeout(r, 50));
      await hid.tap('KeyB');
      const after = (await sim.state()).hid.slice(from).map((e) => (e.type === 'key' ? `${e.code} ${e.down ? 'down' : 'up'}` : e.type));
      expect(after).toEqual(['clear', 'KeyB down', 'KeyB up']);
      expect(links.at(-1)).toBe(true);
    } finally {
      await hid.close();
    }
  }, 30_000);

  it('refuses a bad fault request, or a bad line option, with a reason', async () => {
    const bad = await post('/unplug?ms=soon');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/ms must be a whole number of milliseconds/);
    const cli = spawnSync(process.execPath, [SIM_BIN, '--json', '--line-corrupt', '2'], { encoding: 'utf8' });
    expect(cli.status).toBe(64);
    expect(cli.stderr).toContain('--line-corrupt must be a probability between 0 and 0.5, got "2"');
  });
});
