// `autopilot-hil keys --hid SPEC [--layout us] [--check] SCRIPT...`: sends keys by hand through the board (or a
// PiKVM, pikvm:https://HOST), from a small DuckyScript-like script (STRING, STRINGLN, DELAY, REPEAT, chords such as
// "GUI r", MetaLeft*5). Each SCRIPT is inline text (one or more lines) or @FILE. The whole script is checked before
// the first key goes out. --check first proves the device reads the keyboard: Caps Lock on and off, seen in the
// keyboard LEDs the board reports (the PONG flags; a PiKVM's HID state).
// Exit codes: 0 sent (and checked); 2 the board or the device failed; 64 bad usage or a bad script.
import { readFileSync } from 'node:fs';
import { DuckyError, parseDucky, runDucky, type DuckyScript } from '../drivers/hid/ducky.ts';
import { findLayout } from '../drivers/hid/layouts/index.ts';
import { checkHidSpec, isPikvmSpec, openHidDevice } from '../drivers/hid/open.ts';
import { SerialBoard } from '../drivers/hid/serial-board.ts';
import type { HidDevice } from '../drivers/hid/types.ts';
import { EXIT } from './engine/errors.ts';

export interface KeysCommandOptions {
  hid: string;
  layout?: string;
  check?: boolean;
  /** How long to wait for the board to answer at first, in seconds (default 10). */
  openTimeout?: string;
}

export interface KeysIo {
  out(line: string): void;
  err(line: string): void;
}

const STD_IO: KeysIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`autopilot-hil keys: ${line}\n`),
};

/** How long the device gets to show Caps Lock on its LED (it answers on its next HID report). */
const LED_WAIT_MS = 2000;

export async function keysCommand(scripts: string[], o: KeysCommandOptions, io: KeysIo = STD_IO): Promise<number> {
  let layoutName: string;
  const parsed: DuckyScript[] = [];
  const pikvm = isPikvmSpec(o.hid);
  try {
    checkHidSpec(o.hid);
    layoutName = findLayout(o.layout ?? 'us').name;
    if (scripts.length === 0 && !o.check) throw new Error('nothing to send: give a SCRIPT (e.g. "MetaLeft*5", "STRING hello", @keys.txt) or --check');
    const layout = findLayout(layoutName);
    for (const [i, arg] of scripts.entries()) {
      const fromFile = arg.startsWith('@');
      const source = fromFile ? arg.slice(1) : `argument ${i + 1}`;
      let text = arg;
      if (fromFile) {
        try {
          text = readFileSync(source, 'utf8');
        } catch (err) {
          throw new Error(`cannot read the script file ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      parsed.push(parseDucky(text, { source, layout }));
    }
  } catch (err) {
    io.err(err instanceof DuckyError ? `bad script: ${err.message}` : (err as Error).message);
    return EXIT.usage;
  }
  const openTimeoutMs = o.openTimeout === undefined ? undefined : Number(o.openTimeout) * 1000;
  if (openTimeoutMs !== undefined && !(openTimeoutMs > 0)) {
    io.err(`--open-timeout must be a number of seconds above 0, got '${o.openTimeout}'`);
    return EXIT.usage;
  }

  let hid: HidDevice;
  try {
    hid = await openHidDevice(o.hid, { layout: layoutName, openTimeoutMs });
  } catch (err) {
    io.err(`cannot reach the ${pikvm ? 'PiKVM' : 'keyboard board'} (${o.hid}): ${(err as Error).message}`);
    return EXIT.infrastructure;
  }
  const board = hid instanceof SerialBoard ? hid : null;
  board?.onEvent((e) => {
    if (e.type === 'lost') io.err(`the board was lost: ${e.error}; waiting for it to come back`);
    if (e.type === 'back') io.err('the board is back; every key was released');
    if (e.type === 'restarted') io.err(`the board restarted during ${e.command}; it was sent again`);
  });
  try {
    if (o.check) {
      const problem = await ledCheck(hid, pikvm);
      if (problem) {
        io.err(`check failed: ${problem}`);
        return EXIT.infrastructure;
      }
      io.out(`check passed: the device turned Caps Lock on and off again (${pikvm ? "the PiKVM's keyboard LEDs" : 'PONG LED flags'}), so it reads the ${pikvm ? '' : "board's "}keyboard`);
    }
    const events = parsed.reduce((n, s) => n + s.keyEvents, 0);
    for (const script of parsed) await runDucky(script, hid, { layout: layoutName });
    if (parsed.length) {
      const c = board?.counters ?? { repeats: 0, resends: 0, restarts: 0, reopens: 0 };
      const extra = [
        c.repeats ? `${c.repeats} answers asked again` : '',
        c.resends ? `${c.resends} requests sent again` : '',
        c.restarts ? `the board restarted ${c.restarts}×` : '',
        c.reopens ? `the port was reopened ${c.reopens}×` : '',
      ].filter(Boolean);
      io.out(`sent ${events} key events to ${hid.description}, each acknowledged${extra.length ? ` (${extra.join(', ')})` : ''}`);
    }
    return EXIT.passed;
  } catch (err) {
    io.err((err as Error).message);
    return EXIT.infrastructure;
  } finally {
    await hid.close();
  }
}

/**
 * The LED flags as an end-to-end check: Caps Lock pressed on the board lights the device's LED only when the
 * device really reads the keyboard. Returns what went wrong, or null. Leaves Caps Lock as it found it.
 */
async function ledCheck(hid: HidDevice, pikvm: boolean): Promise<string | null> {
  const before = await hid.status();
  if (!before.keyboardOnline) {
    return pikvm
      ? "the PiKVM says the device is not reading its keyboard (keyboard offline in its HID state): is the device on, and the PiKVM's USB plugged into it?"
      : "the board says the device is not reading its keyboard (keyboard offline in the PONG flags): is the device on, and the board's USB plugged into it?";
  }
  const waitForCaps = async (want: boolean): Promise<boolean> => {
    const until = Date.now() + LED_WAIT_MS;
    for (;;) {
      const s = await hid.status();
      if (s.capsLock === want) return true;
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const state = (on: boolean) => (on ? 'on' : 'off');
  await hid.tap('CapsLock');
  if (!(await waitForCaps(!before.capsLock))) {
    return `Caps Lock was pressed but the device's Caps Lock LED stayed ${state(before.capsLock)} for ${LED_WAIT_MS / 1000} s: the device does not act on ${pikvm ? "the PiKVM's" : "this board's"} keys`;
  }
  await hid.tap('CapsLock');
  if (!(await waitForCaps(before.capsLock))) {
    return `Caps Lock was pressed again but the device's Caps Lock LED stayed ${state(!before.capsLock)} for ${LED_WAIT_MS / 1000} s`;
  }
  return null;
}
