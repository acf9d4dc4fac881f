// Finds keyboard boards by USB vendor and product id: the serial ports of USB devices (Linux: sysfs and
// /dev/serial/by-id; elsewhere: serialport's list), and the USB bus itself (the usb package) to tell "the
// board is plugged in but has no serial port" from "no board". Nothing here opens a port.
import { readFileSync, readdirSync, realpathSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface KnownBoard {
  vid: number;
  pid: number;
  name: string;
  /** A board that speaks the protocol itself, or a USB-serial adapter wired to a board's UART. */
  kind: 'board' | 'usb-serial';
}

/** Boards and adapters a bench is likely to have, by USB id. Data: add a row for a new board. */
export const KNOWN_BOARDS: readonly KnownBoard[] = [
  { vid: 0x2341, pid: 0x8036, name: 'Arduino Leonardo', kind: 'board' },
  { vid: 0x1b4f, pid: 0x9206, name: 'SparkFun Pro Micro', kind: 'board' },
  { vid: 0x239a, pid: 0x80f4, name: 'Raspberry Pi Pico (CircuitPython)', kind: 'board' },
  { vid: 0x0403, pid: 0x6001, name: 'FTDI FT232R USB-serial adapter', kind: 'usb-serial' },
  { vid: 0x10c4, pid: 0xea60, name: 'Silicon Labs CP2102 USB-serial adapter', kind: 'usb-serial' },
  { vid: 0x1a86, pid: 0x7523, name: 'WCH CH340 USB-serial adapter', kind: 'usb-serial' },
];

/** What a board is wanted by: a USB id, optionally its serial number; no id means any known board. */
export interface BoardQuery {
  vid?: number;
  pid?: number;
  serial?: string;
}

export interface SerialPortInfo {
  /** The device to open, e.g. /dev/ttyACM0. */
  path: string;
  /** Its /dev/serial/by-id name, when there is one (stable across replugging). */
  byId?: string;
  vid?: number;
  pid?: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  known?: KnownBoard;
}

export interface UsbDeviceInfo {
  vid: number;
  pid: number;
  serialNumber?: string;
  product?: string;
  known?: KnownBoard;
}

export interface DiscoverOptions {
  /** Where sysfs is (tests give a folder shaped like it). Default /sys. */
  sysRoot?: string;
  /** Where device nodes are. Default /dev. */
  devRoot?: string;
  /** Look at the USB bus with the usb package too (default true). */
  usbBus?: boolean;
}

export interface Discovery {
  ports: SerialPortInfo[];
  usb: UsbDeviceInfo[];
  /** What could not be looked at, and why, in words for a message. */
  notes: string[];
}

export const usbId = (vid?: number, pid?: number): string =>
  `${vid === undefined ? '????' : vid.toString(16).padStart(4, '0')}:${pid === undefined ? '????' : pid.toString(16).padStart(4, '0')}`;

export function knownBoard(vid?: number, pid?: number): KnownBoard | undefined {
  return KNOWN_BOARDS.find((b) => b.vid === vid && b.pid === pid);
}

export function describeQuery(q: BoardQuery): string {
  if (q.vid === undefined) return `any known board (${KNOWN_BOARDS.map((b) => `${usbId(b.vid, b.pid)} ${b.name}`).join(', ')})`;
  const known = knownBoard(q.vid, q.pid);
  return `USB id ${usbId(q.vid, q.pid)}${known ? ` (${known.name})` : ''}${q.serial ? ` with serial number ${q.serial}` : ''}`;
}

function matches(q: BoardQuery, p: { vid?: number; pid?: number; serialNumber?: string }): boolean {
  if (q.vid === undefined) return !!knownBoard(p.vid, p.pid) && (!q.serial || p.serialNumber === q.serial);
  return p.vid === q.vid && p.pid === q.pid && (!q.serial || p.serialNumber === q.serial);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Linux: every tty whose device is on USB, with the USB device's ids read from sysfs (no udevadm needed). */
function sysfsSerialPorts(sysRoot: string, devRoot: string, notes: string[]): SerialPortInfo[] | null {
  const ttyDir = join(sysRoot, 'class', 'tty');
  let names: string[];
  try {
    names = readdirSync(ttyDir);
  } catch (err) {
    notes.push(`${ttyDir} is not readable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return null;
  }
  const ports: SerialPortInfo[] = [];
  for (const name of names) {
    let dir: string;
    try {
      dir = realpathSync(join(ttyDir, name, 'device'));
    } catch {
      continue; // a virtual tty (console, pts): no device behind it
    }
    // Walk up from the interface to the USB device, the first folder with an idVendor.
    let usbDevice: string | null = null;
    for (let d = dir, i = 0; i < 6 && d !== dirname(d); d = dirname(d), i++) {
      if (existsSync(join(d, 'idVendor'))) {
        usbDevice = d;
        break;
      }
    }
    if (!usbDevice) continue;
    const vid = parseInt(readText(join(usbDevice, 'idVendor')) ?? '', 16);
    const pid = parseInt(readText(join(usbDevice, 'idProduct')) ?? '', 16);
    const info: SerialPortInfo = {
      path: join(devRoot, name),
      ...(Number.isFinite(vid) ? { vid } : {}),
      ...(Number.isFinite(pid) ? { pid } : {}),
    };
    const serialNumber = readText(join(usbDevice, 'serial'));
    const manufacturer = readText(join(usbDevice, 'manufacturer'));
    const product = readText(join(usbDevice, 'product'));
    if (serialNumber) info.serialNumber = serialNumber;
    if (manufacturer) info.manufacturer = manufacturer;
    if (product) info.product = product;
    const known = knownBoard(info.vid, info.pid);
    if (known) info.known = known;
    ports.push(info);
  }
  return ports.sort((a, b) => a.path.localeCompare(b.path));
}

/** /dev/serial/by-id: stable names (they carry the serial number) for the ports found. */
function addByIdNames(ports: SerialPortInfo[], devRoot: string, notes: string[]): void {
  const byIdDir = join(devRoot, 'serial', 'by-id');
  let names: string[];
  try {
    names = readdirSync(byIdDir);
  } catch {
    notes.push(`${byIdDir} does not exist (udev makes it when a USB serial device is plugged in)`);
    return;
  }
  for (const name of names) {
    let target: string;
    try {
      target = realpathSync(join(byIdDir, name));
    } catch {
      continue;
    }
    const port = ports.find((p) => p.path === target || basename(p.path) === basename(target));
    if (port) port.byId = join(byIdDir, name);
    else ports.push({ path: target, byId: join(byIdDir, name) }); // a port sysfs did not show: keep it, ids unknown
  }
}

/** macOS and Windows: serialport's own list. */
async function serialportList(notes: string[]): Promise<SerialPortInfo[]> {
  try {
    const { SerialPort } = await import('serialport');
    const list = await SerialPort.list();
    return list.map((p) => {
      const vid = p.vendorId ? parseInt(p.vendorId, 16) : undefined;
      const pid = p.productId ? parseInt(p.productId, 16) : undefined;
      const known = knownBoard(vid, pid);
      return {
        path: p.path,
        ...(vid !== undefined ? { vid } : {}),
        ...(pid !== undefined ? { pid } : {}),
        ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
        ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
        ...(known ? { known } : {}),
      };
    });
  } catch (err) {
    notes.push(`the serial port list is not available (${(err as Error).message})`);
    return [];
  }
}

/** Devices on the USB bus (usb package). Where there is no bus to read, a note says so; never a crash. */
async function usbBusDevices(notes: string[]): Promise<UsbDeviceInfo[]> {
  try {
    const { usb } = await import('usb');
    const devices = await usb.getDevices();
    return devices.map((d) => {
      const known = knownBoard(d.vendorId, d.productId);
      let serialNumber: string | undefined;
      let product: string | undefined;
      try {
        serialNumber = d.serialNumber ?? undefined;
        product = d.productName ?? undefined;
      } catch {
        // strings need access to the device; the ids are enough
      }
      return { vid: d.vendorId, pid: d.productId, ...(serialNumber ? { serialNumber } : {}), ...(product ? { product } : {}), ...(known ? { known } : {}) };
    });
  } catch (err) {
    notes.push(`the USB bus cannot be read (${(err as Error).message})`);
    return [];
  }
}

/** Every serial port on USB and every USB device, with notes on what could not be looked at. */
export async function discover(opts: DiscoverOptions = {}): Promise<Discovery> {
  const sysRoot = opts.sysRoot ?? '/sys';
  const devRoot = opts.devRoot ?? '/dev';
  const notes: string[] = [];
  let ports: SerialPortInfo[];
  if (process.platform === 'linux' || opts.sysRoot) {
    ports = sysfsSerialPorts(sysRoot, devRoot, notes) ?? [];
    addByIdNames(ports, devRoot, notes);
  } else {
    ports = await serialportList(notes);
  }
  const usb = opts.usbBus === false ? [] : await usbBusDevices(notes);
  return { ports, usb, notes };
}

export function describePort(p: SerialPortInfo): string {
  const id = p.vid !== undefined ? ` ${usbId(p.vid, p.pid)}` : ' (USB id unknown)';
  const name = p.known?.name ?? p.product;
  return `${p.path}${id}${name ? ` ${name}` : ''}${p.serialNumber ? ` serial ${p.serialNumber}` : ''}${p.byId ? ` (${p.byId})` : ''}`;
}

/** No serial port fits the query: what was looked for, what was there, and what could not be read. */
export class BoardNotFoundError extends Error {
  constructor(
    readonly query: BoardQuery,
    readonly discovery: Discovery,
    why: string,
  ) {
    const seen = discovery.ports.length ? `serial ports on USB: ${discovery.ports.map(describePort).join('; ')}` : 'no serial port on USB';
    const onBus = discovery.usb.filter((d) => matches(query, { vid: d.vid, pid: d.pid, serialNumber: d.serialNumber }));
    const busNote = onBus.length
      ? `; the USB bus has ${onBus.map((d) => `${usbId(d.vid, d.pid)}${d.serialNumber ? ` serial ${d.serialNumber}` : ''}`).join(', ')}, but no serial port for it (driver not loaded, or no permission?)`
      : '';
    const notes = discovery.notes.length ? `; ${discovery.notes.join('; ')}` : '';
    super(`${why}: ${seen}${busNote}${notes}`);
    this.name = 'BoardNotFoundError';
  }
}

/**
 * The one serial port of the board the query names. Several that fit is an error too (naming them, so the
 * serial number can be added), unless `prefer` is one of them (a board that came back on its old path).
 */
export async function findBoardPort(query: BoardQuery, opts: DiscoverOptions & { prefer?: string } = {}): Promise<SerialPortInfo> {
  const found = await discover(opts);
  const fits = found.ports.filter((p) => matches(query, p));
  if (fits.length === 0) throw new BoardNotFoundError(query, found, `no serial port for ${describeQuery(query)}`);
  if (fits.length === 1) return fits[0];
  const preferred = fits.find((p) => p.path === opts.prefer);
  if (preferred) return preferred;
  throw new BoardNotFoundError(query, found, `${fits.length} serial ports fit ${describeQuery(query)} (${fits.map((p) => p.path).join(', ')}): name one with its serial number, usb:VID:PID:SERIAL`);
}
