// Boards on USB: serial ports of known boards and USB-serial adapters (by USB id, with their stable
// /dev/serial/by-id names), and known boards on the bus that have no serial port. Opens nothing.
import { discover, describePort, usbId, type DiscoverOptions, type SerialPortInfo } from '../../drivers/usb/discover.ts';
import type { CheckResult } from './types.ts';

export interface UsbFindings {
  /** One line per finding: the bus itself, each board port, each board without a port. */
  results: CheckResult[];
  /** Serial ports of known boards and adapters, to PING. */
  boards: SerialPortInfo[];
  /** The USB bus could not be read at all (no /sys/bus/usb: a container, a VM without USB). */
  noBus: boolean;
}

/** What is on USB, as check lines, and the board ports found. */
export async function findUsbBoards(opts: DiscoverOptions = {}): Promise<UsbFindings> {
  let found;
  try {
    found = await discover(opts);
  } catch (err) {
    return { results: [{ name: 'usb', ok: true, detail: `USB cannot be looked at here: ${(err as Error).message}` }], boards: [], noBus: true };
  }
  const busNote = found.notes.find((n) => n.startsWith('the USB bus cannot be read'));
  const noBus = busNote !== undefined && found.ports.length === 0;
  const results: CheckResult[] = [];
  const boards = found.ports.filter((p) => p.known);
  if (noBus) {
    results.push({
      name: 'usb', ok: true,
      detail: `no USB bus on this machine (${busNote!.replace(/^the USB bus cannot be read /, '').replace(/^\(|\)$/g, '')}): no board or grabber can be found by USB id here; boards over tcp:// (ser2net) and MJPEG streams over HTTP still work`,
    });
    return { results, boards, noBus };
  }
  const byId = found.ports.filter((p) => p.byId).length;
  results.push({
    name: 'usb', ok: true,
    detail: `${found.ports.length} serial port${found.ports.length === 1 ? '' : 's'} on USB (${byId} with a /dev/serial/by-id name), ${found.usb.length} USB device${found.usb.length === 1 ? '' : 's'} on the bus`
      + (found.notes.length ? `; ${found.notes.join('; ')}` : ''),
  });
  for (const p of found.ports.filter((q) => !q.known)) {
    results.push({ name: `usb port ${p.path}`, ok: true, detail: `${describePort(p)}: not a known board or adapter (add its USB id to KNOWN_BOARDS if it is one)` });
  }
  // A known board on the bus with no serial port: the driver is missing or the port is not readable.
  for (const d of found.usb.filter((u) => u.known && u.known.kind === 'board')) {
    const hasPort = found.ports.some((p) => p.vid === d.vid && p.pid === d.pid && (!d.serialNumber || p.serialNumber === d.serialNumber));
    if (!hasPort) {
      results.push({
        name: `usb ${usbId(d.vid, d.pid)}`, ok: false,
        detail: `${d.known!.name}${d.serialNumber ? ` serial ${d.serialNumber}` : ''} is on the USB bus but has no serial port`,
        fix: 'load the cdc_acm driver (sudo modprobe cdc_acm), or check the board is not in its bootloader; then replug it',
      });
    }
  }
  if (boards.length === 0) {
    results.push({ name: 'usb boards', ok: true, detail: 'no known keyboard board or USB-serial adapter on USB' });
  }
  return { results, boards, noBus };
}

/** The USB findings as check lines (doctor pings the board ports on top). */
export async function checkUsb(opts: DiscoverOptions = {}): Promise<CheckResult[]> {
  return (await findUsbBoards(opts)).results;
}

/** How a board port is named in a check line: its by-id name when it has one (stable), else its path. */
export function boardPortSpec(p: SerialPortInfo): string {
  return `serial:${p.byId ?? p.path}`;
}
