// Is the keyboard board (or PiKVM) there and does the device read it: one PING (a PiKVM: its HID state), its
// flags and its round trip.
import { isPikvmSpec } from '../../drivers/hid/open.ts';
import { parsePikvmSpec, type PikvmConfig } from '../../drivers/hid/pikvm-api.ts';
import { openPikvmHid, PikvmHid } from '../../drivers/hid/pikvm.ts';
import { openHid, type OpenHidOptions } from '../../drivers/hid/serial-board.ts';
import { parseHidSpec } from '../../drivers/hid/transport.ts';
import type { BoardStatus, HidDevice } from '../../drivers/hid/types.ts';
import type { CheckResult } from './types.ts';

export interface BoardCheckOptions {
  /** The device under test should be reading the board's keyboard (powered on, board plugged into it). */
  expectKeyboardOnline?: boolean;
  /** Name of the check line (default "board DESCRIPTION"). */
  name?: string;
}

/** The PONG flags in words: "keyboard online; Caps Lock off, Num Lock on, Scroll Lock off". */
export function describeFlags(s: BoardStatus): string {
  const led = (name: string, on: boolean) => `${name} ${on ? 'on' : 'off'}`;
  const parts = [
    s.keyboardOnline ? 'keyboard online (the device reads it)' : 'keyboard offline (the device does not read it)',
    `LEDs: ${[led('Caps Lock', s.capsLock), led('Num Lock', s.numLock), led('Scroll Lock', s.scrollLock)].join(', ')}`,
  ];
  if (s.resetRequired) parts.push('the board asks for a reset');
  return parts.join('; ');
}

/** PINGs an open board (asks a PiKVM for its HID state): it answers, with which flags, in how many ms. */
export async function checkBoard(hid: HidDevice, opts: BoardCheckOptions = {}): Promise<CheckResult> {
  const name = opts.name ?? `board ${hid.description}`;
  const pikvm = hid instanceof PikvmHid;
  const asked = pikvm ? 'its HID state' : 'PING';
  const t0 = performance.now();
  let status: BoardStatus;
  try {
    status = await hid.status();
  } catch (err) {
    return {
      name, ok: false, detail: `does not answer ${asked}: ${(err as Error).message}`,
      fix: pikvm
        ? 'check that the PiKVM is up and reachable from this host (its web page), and that its kvmd HID service runs'
        : 'check the serial link to the board (cable, adapter wiring TX↔RX and GND, baud 115200) and that the board runs the firmware',
    };
  }
  const ms = Math.round(performance.now() - t0);
  const detail = `answers ${asked} in ${ms} ms; ${describeFlags(status)}`;
  if (opts.expectKeyboardOnline && !status.keyboardOnline) {
    return {
      name, ok: false, detail,
      fix: `power the device on and plug the ${pikvm ? "PiKVM's" : "board's own"} USB port into the device under test (no hub between them)`,
    };
  }
  return { name, ok: true, detail };
}

export interface BoardSpecCheckOptions extends BoardCheckOptions {
  /** How long to keep sending PING before giving up on the board (default 5 s). */
  openTimeoutMs?: number;
  /** Options for openHid (tests pass a sysfs-shaped folder for USB discovery). */
  hid?: OpenHidOptions;
}

/**
 * Opens the board a spec names for a check: the open board, or the failed check line that says why not
 * and what to do. The board is opened without reconnecting or background pings: a check looks once.
 */
export async function openBoardForCheck(spec: string, opts: BoardSpecCheckOptions = {}): Promise<{ hid: HidDevice; failed?: undefined } | { hid?: undefined; failed: CheckResult }> {
  const name = opts.name ?? `board ${spec}`;
  if (isPikvmSpec(spec)) {
    let config: PikvmConfig;
    try {
      config = parsePikvmSpec(spec);
    } catch (err) {
      return { failed: { name, ok: false, detail: (err as Error).message, fix: 'give the PiKVM as pikvm:https://HOST[,insecure]' } };
    }
    try {
      // Each request held to the check's time limit: an address where nothing answers fails in that time.
      return { hid: await openPikvmHid(config, { timeoutMs: opts.openTimeoutMs ?? 5000 }) };
    } catch (err) {
      // The PiKVM's own message says what to do (which variables to set, the certificate): no second guess.
      return { failed: { name, ok: false, detail: `cannot be reached: ${(err as Error).message}` } };
    }
  }
  try {
    parseHidSpec(spec);
  } catch (err) {
    return { failed: { name, ok: false, detail: (err as Error).message, fix: 'give the board as serial:/dev/ttyACM0, /dev/serial/by-id/…, tcp://HOST:PORT, usb:VID:PID or pikvm:https://HOST' } };
  }
  try {
    const hid = await openHid(spec, { reopenTimeoutMs: 0, pingIntervalMs: 0, retries: 1, responseTimeoutMs: 1000, ...opts.hid, openTimeoutMs: opts.openTimeoutMs ?? 5000 });
    return { hid };
  } catch (err) {
    return { failed: { name, ok: false, detail: `cannot be reached: ${(err as Error).message}`, fix: fixForOpenError(spec, err as Error) } };
  }
}

/** Opens the board a spec names (serial:PATH, tcp://HOST:PORT, usb:VID:PID, pikvm:URL), PINGs it and closes it again. */
export async function checkBoardSpec(spec: string, opts: BoardSpecCheckOptions = {}): Promise<CheckResult> {
  const opened = await openBoardForCheck(spec, opts);
  if (!opened.hid) return opened.failed;
  try {
    return await checkBoard(opened.hid, { ...opts, name: opts.name ?? `board ${spec}` });
  } finally {
    await opened.hid.close().catch(() => {});
  }
}

/** What a person does about a board that cannot be opened, by what went wrong. */
function fixForOpenError(spec: string, err: Error): string {
  const m = err.message;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/ECONNREFUSED|refused/i.test(m + code)) return `nothing listens at ${spec}: start ser2net (or the virtual device) there, or correct the address`;
  if (/EACCES|permission/i.test(m + code)) return 'no permission to open the port: add the user to the dialout group (sudo usermod -aG dialout $USER) and log in again';
  if (/ENOENT|no such file|cannot open|not found|no serial port/i.test(m + code)) return 'the port does not exist: is the board (or its USB-serial adapter) plugged into this host? see `ls /dev/serial/by-id/`';
  if (/no answer|does not answer|timed out|within/i.test(m)) return 'the port opened but nothing answered PING: check the adapter wiring (TX↔RX, GND), the baud rate (115200) and that the board is flashed';
  return 'check the board, its cable and the spec';
}
