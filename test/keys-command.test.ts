// `autopilot-hil keys` against the virtual device over a real pseudo-terminal, as a bench engineer runs it;
// and the parts it stands on: the script language, the keyboard layouts, finding boards by USB id.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckyError, parseDucky } from '../drivers/hid/ducky.ts';
import { LAYOUTS, findLayout, textToStrokes } from '../drivers/hid/layouts/index.ts';
import { openHid } from '../drivers/hid/serial-board.ts';
import { parseHidSpec } from '../drivers/hid/transport.ts';
import { KNOWN_BOARDS, discover, findBoardPort } from '../drivers/usb/discover.ts';
import { startSim, type RunningSim } from '../sim/main.ts';
import { runAgent } from './helpers/processes.ts';

const keysOf = (state: { hid: { type: string; code?: string; down?: boolean }[] }, from: number) =>
  state.hid.slice(from).filter((e) => e.type === 'key').map((e) => `${e.code} ${e.down ? 'down' : 'up'}`);
const tap = (...codes: string[]) => [...codes.map((c) => `${c} down`), ...[...codes].reverse().map((c) => `${c} up`)];

describe('autopilot-hil keys on the virtual device', () => {
  let sim: RunningSim;
  const state = async () => sim.device.state();

  beforeAll(async () => {
    sim = await startSim({ scenario: 'win11-wired', speed: 3000, serial: 'pty', stableSerial: true, width: 640, height: 480, fps: 1 });
    const until = Date.now() + 20_000;
    while (sim.device.state().screen !== 'entra-signin') {
      if (Date.now() > until) throw new Error(`the device did not reach the sign-in page: ${sim.device.state().screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 30_000);
  afterAll(async () => {
    await sim?.close();
  });

  it('sends MetaLeft*5, a STRING and a chord; the device saw exactly those keys, and the options opened', async () => {
    expect(sim.info.serial).toMatch(/autopilot-hil-sim-.+\/ttyHID$/); // the stable path, not /dev/pts/N
    const from = (await state()).hid.length;
    const r = await runAgent(['keys', '--hid', `serial:${sim.info.serial}`, 'MetaLeft*5', 'STRING Hi!', 'CTRL SHIFT d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sent 26 key events to serial HID board on serial');
    expect(keysOf(await state(), from)).toEqual([
      ...Array.from({ length: 5 }, () => tap('MetaLeft')).flat(),
      ...tap('ShiftLeft', 'KeyH'), ...tap('KeyI'), ...tap('ShiftLeft', 'Digit1'),
      ...tap('ControlLeft', 'ShiftLeft', 'KeyD'),
    ]);
    expect((await state()).typed.endsWith('Hi!')).toBe(true);
    expect((await state()).screen).toBe('provisioning-options'); // five Windows-key presses did what they do
  }, 30_000);

  it('--check sees Caps Lock go on and off in the LED flags, and leaves it off', async () => {
    const from = (await state()).hid.length;
    const r = await runAgent(['keys', '--hid', `tcp://${sim.info.tcp}`, '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('check passed: the device turned Caps Lock on and off again');
    expect(keysOf(await state(), from)).toEqual([...tap('CapsLock'), ...tap('CapsLock')]);
    expect((await state()).capsLock).toBe(false);
  }, 30_000);

  it('names the line and the token of a bad script, exits 64, and sends nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-script-'));
    const file = join(dir, 'setup.txt');
    writeFileSync(file, 'REM open the run box\nGUI r\nDELAY 200\nSTRING notepad\nCTRL FOO\n');
    const from = (await state()).hid.length;
    const r = await runAgent(['keys', '--hid', `serial:${sim.info.serial}`, `@${file}`]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`bad script: ${file}:5: unknown key 'FOO' in "CTRL FOO"`);
    const bad = await runAgent(['keys', '--hid', `serial:${sim.info.serial}`, 'ENTER', 'STRING Grüße']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("argument 2:1: cannot type 'ü' (U+00FC), 'ß' (U+00DF) with the US keyboard layout");
    expect((await state()).hid.length).toBe(from);
  }, 30_000);

  it('--check fails clearly when the device does not read the keyboard', async () => {
    sim.device.powerOff();
    const r = await runAgent(['keys', '--hid', `serial:${sim.info.serial}`, '--check', 'ENTER']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('check failed: the board says the device is not reading its keyboard (keyboard offline in the PONG flags)');
    expect(r.stdout).not.toContain('sent');
  }, 30_000);

  it('types with a German or French layout: the keys a person would press on that keyboard', async () => {
    const hid = await openHid(`tcp://${sim.info.tcp}`, { pingIntervalMs: 0, layout: 'de', shiftGapMs: 0, keyGapMs: 0 });
    try {
      const from = (await state()).hid.length;
      await hid.type('zä@^');
      await hid.type('a1', { layout: 'fr' });
      expect(keysOf(await state(), from)).toEqual([
        ...tap('KeyY'), ...tap('Quote'), ...tap('AltRight', 'KeyQ'), ...tap('Backquote'), ...tap('Space'),
        ...tap('KeyQ'), ...tap('ShiftLeft', 'Digit1'),
      ]);
    } finally {
      await hid.close();
    }
  });
});

describe('the key script language', () => {
  const us = findLayout('us');

  it('reads DuckyScript commands, W3C names, chords and KEY*N', () => {
    const script = parseDucky(['REM a comment', 'GUI r', 'DELAY 150', 'STRINGLN notepad  x', 'CTRL-ALT DELETE', 'ControlLeft+KeyD', 'REPEAT 2', 'MetaLeft*5', 'HOLD SHIFT', 'a', 'RELEASE SHIFT'].join('\n'), { source: 'a.txt', layout: us });
    expect(script.steps.map(({ line, source, ...step }) => ({ line, ...step }))).toEqual([
      { line: 2, kind: 'tap', keys: ['MetaLeft', 'KeyR'], times: 1 },
      { line: 3, kind: 'delay', ms: 150 },
      { line: 4, kind: 'type', text: 'notepad  x\n' },
      { line: 5, kind: 'tap', keys: ['ControlLeft', 'AltLeft', 'Delete'], times: 1 },
      { line: 6, kind: 'tap', keys: ['ControlLeft', 'KeyD'], times: 1 },
      { line: 7, kind: 'tap', keys: ['ControlLeft', 'KeyD'], times: 1 },
      { line: 7, kind: 'tap', keys: ['ControlLeft', 'KeyD'], times: 1 },
      { line: 8, kind: 'tap', keys: ['MetaLeft'], times: 5 },
      { line: 9, kind: 'hold', keys: ['ShiftLeft'] },
      { line: 10, kind: 'tap', keys: ['KeyA'], times: 1 },
      { line: 11, kind: 'release', keys: ['ShiftLeft'] },
    ]);
  });

  it('names the source, line and token of each mistake', () => {
    const mistake = (text: string) => {
      try {
        parseDucky(text, { source: 'lab.txt', layout: us });
      } catch (err) {
        expect(err).toBeInstanceOf(DuckyError);
        return [(err as DuckyError).line, (err as DuckyError).token, (err as Error).message];
      }
      throw new Error(`accepted: ${text}`);
    };
    expect(mistake('GUI\nDELAY soon')).toEqual([2, 'soon', `lab.txt:2: DELAY needs a whole number 0..3600000, got 'soon' in "DELAY soon"`]);
    expect(mistake('REPEAT 3')).toEqual([1, 'REPEAT', 'lab.txt:1: REPEAT has no command before it to repeat']);
    expect(mistake('\n\nhello')[2]).toBe(`lab.txt:3: unknown key 'hello' in "hello": use W3C code names (KeyA, Enter, MetaLeft, F10) or DuckyScript names (GUI, CTRL, ALT, SHIFT, ENTER, TAB, ESC); to type text, write STRING hello`);
    expect(mistake('MetaLeft*0')[0]).toBe(1);
    expect(mistake('ENTER\nREPEAT 99999\nREPEAT 5')[2]).toBe('lab.txt:3: REPEAT 5 makes the script longer than 100000 steps');
  });
});

describe('keyboard layouts', () => {
  it('type with Shift, AltGr and dead keys where the layout puts each character', () => {
    const keys = (text: string, layout: string) =>
      textToStrokes(text, findLayout(layout)).map((c) => c.strokes.map((s) => `${s.shift ? 'Shift+' : ''}${s.altGr ? 'AltGr+' : ''}${s.code}`).join(' '));
    expect(keys('@"#\\', 'us')).toEqual(['Shift+Digit2', 'Shift+Quote', 'Shift+Digit3', 'Backslash']);
    expect(keys('@"#\\£€', 'uk')).toEqual(['Shift+Quote', 'Shift+Digit2', 'Backslash', 'IntlBackslash', 'Shift+Digit3', 'AltGr+Digit4']);
    expect(keys('yzß€{|ê^', 'de')).toEqual(['KeyZ', 'KeyY', 'Minus', 'AltGr+KeyE', 'AltGr+Digit7', 'AltGr+IntlBackslash', 'Backquote KeyE', 'Backquote Space']);
    expect(keys('aqzwm,1é@ô', 'fr')).toEqual(['KeyQ', 'KeyA', 'KeyW', 'KeyZ', 'Semicolon', 'KeyM', 'Shift+Digit1', 'Digit2', 'AltGr+Digit0', 'BracketLeft KeyO']);
    expect(Object.keys(LAYOUTS)).toEqual(['us', 'uk', 'de', 'fr']);
  });

  it('refuses what it cannot type before a key goes out: every character, or for a secret only where', () => {
    expect(() => textToStrokes('naïve ✓ café ✓', findLayout('us'))).toThrow("cannot type 'ï' (U+00EF), '✓' (U+2713), 'é' (U+00E9) with the US keyboard layout; nothing was sent");
    expect(() => textToStrokes('pa✓ss€', findLayout('us'), { secret: true })).toThrow('cannot type 2 characters of the secret text (at positions 3, 6) with the US keyboard layout; nothing was sent');
    expect(() => textToStrokes('Grüße', findLayout('de'))).not.toThrow();
    expect(() => findLayout('dvorak')).toThrow("unknown keyboard layout 'dvorak': known layouts are us, uk, de, fr");
  });
});

describe('boards found by USB id', () => {
  /** A folder shaped like sysfs and /dev on a bench PC with a Leonardo and a CH340 adapter plugged in. */
  function benchTree(): { sysRoot: string; devRoot: string } {
    const root = mkdtempSync(join(tmpdir(), 'usb-tree-'));
    const sysRoot = join(root, 'sys');
    const devRoot = join(root, 'dev');
    const device = (name: string, ids: Record<string, string>, tty: string, nested: boolean) => {
      const usbDir = join(sysRoot, 'devices', 'pci0000:00', 'usb1', name);
      const iface = join(usbDir, `${name}:1.0`);
      const ttyDir = nested ? join(iface, tty) : iface;
      mkdirSync(ttyDir, { recursive: true });
      for (const [file, text] of Object.entries(ids)) writeFileSync(join(usbDir, file), `${text}\n`);
      mkdirSync(join(sysRoot, 'class', 'tty', tty), { recursive: true });
      symlinkSync(ttyDir, join(sysRoot, 'class', 'tty', tty, 'device'));
      writeFileSync(join(devRoot, tty), '');
    };
    mkdirSync(devRoot, { recursive: true });
    device('1-1', { idVendor: '2341', idProduct: '8036', serial: 'HIDPC01', manufacturer: 'Arduino LLC', product: 'Arduino Leonardo' }, 'ttyACM0', false);
    device('1-2', { idVendor: '1a86', idProduct: '7523', product: 'USB Serial' }, 'ttyUSB0', true);
    mkdirSync(join(sysRoot, 'class', 'tty', 'tty0'), { recursive: true }); // a console: no device behind it
    mkdirSync(join(devRoot, 'serial', 'by-id'), { recursive: true });
    symlinkSync('../../ttyACM0', join(devRoot, 'serial', 'by-id', 'usb-Arduino_LLC_Arduino_Leonardo_HIDPC01-if00'));
    return { sysRoot, devRoot };
  }

  it('lists the serial ports of USB devices with their ids, serial numbers and by-id names', async () => {
    const tree = benchTree();
    const found = await discover({ ...tree, usbBus: false });
    expect(found.ports).toEqual([
      {
        path: join(tree.devRoot, 'ttyACM0'), vid: 0x2341, pid: 0x8036, serialNumber: 'HIDPC01', manufacturer: 'Arduino LLC', product: 'Arduino Leonardo',
        known: KNOWN_BOARDS[0], byId: join(tree.devRoot, 'serial', 'by-id', 'usb-Arduino_LLC_Arduino_Leonardo_HIDPC01-if00'),
      },
      { path: join(tree.devRoot, 'ttyUSB0'), vid: 0x1a86, pid: 0x7523, product: 'USB Serial', known: KNOWN_BOARDS[5] },
    ]);
    expect((await findBoardPort({ vid: 0x2341, pid: 0x8036, serial: 'HIDPC01' }, { ...tree, usbBus: false })).path).toBe(join(tree.devRoot, 'ttyACM0'));
    await expect(findBoardPort({}, { ...tree, usbBus: false })).rejects.toThrow(/2 serial ports fit any known board .*: name one with its serial number, usb:VID:PID:SERIAL/);
    await expect(findBoardPort({ vid: 0x2341, pid: 0x8036, serial: 'OTHER' }, { ...tree, usbBus: false })).rejects.toThrow(
      /no serial port for USB id 2341:8036 \(Arduino Leonardo\) with serial number OTHER: serial ports on USB: .*ttyACM0 2341:8036 Arduino Leonardo serial HIDPC01/,
    );
  });

  it('on this machine (no USB bus, no udev) says what it looked at instead of failing obscurely', async () => {
    expect(parseHidSpec('usb:2341:8036:HIDPC01')).toEqual({ kind: 'usb', vid: 0x2341, pid: 0x8036, serial: 'HIDPC01' });
    expect(parseHidSpec('usb:auto')).toEqual({ kind: 'usb' });
    expect(() => parseHidSpec('usb:leonardo')).toThrow(/HID spec 'usb:leonardo' is not a USB id/);
    const error = await openHid('usb:2341:8036', { pingIntervalMs: 0 }).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/^no serial port for USB id 2341:8036 \(Arduino Leonardo\): /);
  });
});
