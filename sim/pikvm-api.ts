// The virtual device presented as a PiKVM (`autopilot-hil sim --pikvm`): the parts of kvmd's HTTP API that a
// station uses, on the same HTTP server as the video. Like a real PiKVM, keys and the pointer go through its
// own HID board (a BoardProtocol of sim/board.ts, spoken to in the serial protocol) to the device's USB, and
// the ATX output presses the same front-panel power button as the board's power pin (sim/power-button.ts).
// Every route checks the credentials (X-KVMD-User/X-KVMD-Passwd, or HTTP Basic), answering as kvmd does:
// {"ok": true, "result": {...}}, or {"ok": false, "result": {"error", "error_msg"}} with 400/401/403/409.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findKey } from '../drivers/hid/keymap.ts';
import { findLayout, textToStrokes } from '../drivers/hid/layouts/index.ts';
import { Command, encodeRequest, keyPayload, mouseButtonPayload, mouseMovePayload, type MouseButton } from '../drivers/hid/protocol.ts';
import { BoardProtocol, type HidSink } from './board.ts';
import type { PowerPin } from './power-button.ts';

export interface PikvmSimOptions {
  /** The credentials the API takes (a fresh PiKVM's are admin/admin). */
  user?: string;
  password?: string;
  /** How long ATX holds a click (kvmd's defaults: power 0.1 s, power_long 5.5 s, reset 0.1 s). */
  clickMs?: { power?: number; powerLong?: number; reset?: number };
}

export interface PikvmSimDevice {
  /** The device's USB keyboard and pointer. */
  sink: HidSink;
  /** The ATX output's connection to the front-panel power button. */
  powerPin: PowerPin;
  readonly poweredOn: boolean;
  /** The reset button: the device restarts at once. */
  reset(): void;
}

type VideoHandlers = { stream(req: IncomingMessage, res: ServerResponse): void; snapshot(res: ServerResponse): void };

/** What a PiKVM saw, for tests: requests by route, and refusals. */
export interface PikvmSimStats {
  requests: Record<string, number>;
  unauthorized: number;
  forbidden: number;
}

/** kvmd's keymap names for /api/hid/print, and the project's layout each one is. */
const KEYMAPS: Record<string, string> = { 'en-us': 'us', 'en-gb': 'uk', de: 'de', fr: 'fr' };
const DEFAULT_KEYMAP = 'en-us';
/** The pointer's axes on PiKVM: -32768..32767, 0 the centre. */
const AXIS_MIN = -32768;
const AXIS_MAX = 32767;

class ApiError extends Error {
  constructor(readonly status: number, readonly name: string, message: string) {
    super(message);
  }
}

export class PikvmApi {
  readonly stats: PikvmSimStats = { requests: {}, unauthorized: 0, forbidden: 0 };
  private readonly user: string;
  private readonly password: string;
  private readonly board: BoardProtocol;
  private readonly click: { power: number; powerLong: number; reset: number };
  private atxBusyUntil = 0;
  private atxTimer: NodeJS.Timeout | null = null;
  private lastResponse: Buffer | null = null;

  constructor(private readonly device: PikvmSimDevice, opts: PikvmSimOptions = {}) {
    this.user = opts.user ?? 'admin';
    this.password = opts.password ?? 'admin';
    this.click = { power: opts.clickMs?.power ?? 100, powerLong: opts.clickMs?.powerLong ?? 5500, reset: opts.clickMs?.reset ?? 100 };
    // The PiKVM's own HID board: answers come back at once (no wire in between).
    this.board = new BoardProtocol(device.sink, (bytes) => { this.lastResponse = bytes; });
  }

  close(): void {
    if (this.atxTimer) clearTimeout(this.atxTimer);
    this.atxTimer = null;
    this.device.powerPin.set(false);
    this.board.close();
  }

  /** The server hook: answers /api/... and /streamer/...; false for every other path. */
  handle(req: IncomingMessage, res: ServerResponse, video: VideoHandlers): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (!path.startsWith('/api/') && path !== '/api' && !path.startsWith('/streamer/')) return false;
    const route = `${req.method} ${path}`;
    this.stats.requests[route] = (this.stats.requests[route] ?? 0) + 1;
    const refused = this.checkAuth(req);
    if (refused) {
      req.resume();
      sendJson(res, refused.status, { error: refused.name, error_msg: refused.message });
      return true;
    }
    if (req.method === 'GET' && path === '/streamer/stream') {
      video.stream(req, res);
      return true;
    }
    if (req.method === 'GET' && path === '/api/streamer/snapshot') {
      req.resume();
      video.snapshot(res);
      return true;
    }
    readBody(req).then(
      (body) => this.route(req.method ?? 'GET', path, url.searchParams, body),
    ).then(
      (result) => sendJson(res, 200, result),
      (err: Error) => {
        if (err instanceof ApiError) return sendJson(res, err.status, { error: err.name, error_msg: err.message });
        sendJson(res, 500, { error: 'Error', error_msg: err.message });
      },
    );
    return true;
  }

  private checkAuth(req: IncomingMessage): ApiError | null {
    let user = header(req, 'x-kvmd-user');
    let password = header(req, 'x-kvmd-passwd');
    const basic = /^Basic\s+(.+)$/i.exec(header(req, 'authorization') ?? '');
    if (user === undefined && basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = colon < 0 ? decoded : decoded.slice(0, colon);
      password = colon < 0 ? '' : decoded.slice(colon + 1);
    }
    if (user === undefined) {
      this.stats.unauthorized++;
      return new ApiError(401, 'UnauthorizedError', 'Unauthorized');
    }
    if (user !== this.user || password !== this.password) {
      this.stats.forbidden++;
      return new ApiError(403, 'ForbiddenError', 'Forbidden');
    }
    return null;
  }

  private async route(method: string, path: string, q: URLSearchParams, body: string): Promise<unknown> {
    const post = method === 'POST';
    if (path === '/api/auth/check' && method === 'GET') return {};
    if (path === '/api/hid' && method === 'GET') return this.hidState();
    if (path === '/api/hid/events/send_key' && post) {
      const code = validKey(q.get('key'));
      if (q.has('state')) this.key(code, validBool(q.get('state'), 'state'));
      else {
        this.key(code, true);
        this.key(code, false);
      }
      return {};
    }
    if (path === '/api/hid/events/send_shortcut' && post) {
      const keys = (q.get('keys') ?? '').split(',').filter(Boolean).map((k) => validKey(k));
      for (const k of keys) this.key(k, true);
      for (const k of [...keys].reverse()) this.key(k, false);
      return {};
    }
    if (path === '/api/hid/events/send_mouse_move' && post) {
      const x = validAxis(q.get('to_x'), 'to_x');
      const y = validAxis(q.get('to_y'), 'to_y');
      this.command(Command.MOUSE_MOVE, mouseMovePayload((x - AXIS_MIN) / (AXIS_MAX - AXIS_MIN), (y - AXIS_MIN) / (AXIS_MAX - AXIS_MIN)));
      return {};
    }
    if (path === '/api/hid/events/send_mouse_button' && post) {
      const button = q.get('button');
      if (button !== 'left' && button !== 'right' && button !== 'middle') throw invalid('mouse button', button);
      if (q.has('state')) this.command(Command.MOUSE_BUTTON, mouseButtonPayload(button as MouseButton, validBool(q.get('state'), 'state')));
      else {
        this.command(Command.MOUSE_BUTTON, mouseButtonPayload(button as MouseButton, true));
        this.command(Command.MOUSE_BUTTON, mouseButtonPayload(button as MouseButton, false));
      }
      return {};
    }
    if (path === '/api/hid/print' && post) {
      const keymap = q.get('keymap') ?? DEFAULT_KEYMAP;
      const layout = KEYMAPS[keymap];
      if (!layout) throw invalid('keymap', keymap);
      const limit = q.has('limit') ? validInt(q.get('limit'), 'limit') : 1024;
      const text = limit > 0 ? [...body].slice(0, limit).join('') : body;
      const chars = textToStrokes(text, findLayout(layout), { secret: true });
      for (const ch of chars) {
        for (const stroke of ch.strokes) {
          const mods = [...(stroke.shift ? ['ShiftLeft'] : []), ...(stroke.altGr ? ['AltRight'] : [])];
          for (const m of mods) this.key(m, true);
          this.key(stroke.code, true);
          this.key(stroke.code, false);
          for (const m of [...mods].reverse()) this.key(m, false);
        }
      }
      return {};
    }
    if (path === '/api/hid/reset' && post) {
      this.command(Command.CLEAR_HID, []);
      return {};
    }
    if (path === '/api/atx' && method === 'GET') return this.atxState();
    if (path === '/api/atx/power' && post) {
      const action = q.get('action');
      const on = this.device.poweredOn;
      // As kvmd: each action does nothing when the PC is already where it asks.
      if (action === 'on') return this.atxClick(on ? null : 'power', q);
      if (action === 'off') return this.atxClick(on ? 'power' : null, q);
      if (action === 'off_hard') return this.atxClick(on ? 'powerLong' : null, q);
      if (action === 'reset_hard') return this.atxClick(on ? 'reset' : null, q);
      throw invalid('ATX power action', action);
    }
    if (path === '/api/atx/click' && post) {
      const button = q.get('button');
      const which = button === 'power' ? 'power' : button === 'power_long' ? 'powerLong' : button === 'reset' ? 'reset' : undefined;
      if (!which) throw invalid('ATX button', button);
      return this.atxClick(which, q);
    }
    if (path.startsWith('/api/')) throw new ApiError(404, 'HttpNotFound', `the virtual PiKVM has no ${method} ${path}`);
    throw new ApiError(404, 'HttpNotFound', `no ${method} ${path}`);
  }

  private hidState(): unknown {
    const leds = this.device.sink.getLeds();
    const online = this.device.sink.keyboardOnline;
    return {
      enabled: true,
      online: true,
      busy: false,
      connected: null,
      keyboard: { online, leds: { caps: leds.capsLock, num: leds.numLock, scroll: leds.scrollLock }, outputs: { active: 'usb', available: ['usb'] } },
      mouse: { online, absolute: true, outputs: { active: 'usb', available: ['usb'] } },
    };
  }

  private atxState(): unknown {
    return { enabled: true, busy: Date.now() < this.atxBusyUntil, leds: { power: this.device.poweredOn, hdd: false } };
  }

  /** Clicks an ATX button (or nothing: null); with wait=1 the answer comes once the click is over. */
  private async atxClick(which: 'power' | 'powerLong' | 'reset' | null, q: URLSearchParams): Promise<unknown> {
    const wait = q.has('wait') && validBool(q.get('wait'), 'wait');
    if (Date.now() < this.atxBusyUntil) throw new ApiError(409, 'AtxIsBusyError', 'Performing another ATX operation, please try again');
    if (!which) return {};
    const ms = this.click[which];
    this.atxBusyUntil = Date.now() + ms;
    if (which === 'reset') this.device.reset();
    else this.device.powerPin.set(true);
    const done = new Promise<void>((resolve) => {
      this.atxTimer = setTimeout(() => {
        this.atxTimer = null;
        if (which !== 'reset') this.device.powerPin.set(false);
        resolve();
      }, ms);
    });
    if (wait) await done;
    return {};
  }

  private key(code: string, down: boolean): void {
    const key = findKey(code)!;
    this.command(Command.KEY, keyPayload(key.mcu, down));
  }

  /** One request to the PiKVM's HID board, as kvmd sends it over its serial line. */
  private command(command: number, payload: number[]): void {
    this.lastResponse = null;
    this.board.receive(encodeRequest(command, payload));
    if (!this.lastResponse) throw new ApiError(503, 'UnavailableError', 'the HID board did not answer');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1024 * 1024) reject(new ApiError(400, 'ValidatorError', 'the request body is larger than 1 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, result: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ ok: status === 200, result }));
}

function invalid(what: string, value: string | null): ApiError {
  return new ApiError(400, 'ValidatorError', `The argument ${JSON.stringify(value)} is not a valid ${what}`);
}

/** A W3C code name as kvmd's keymap has it (exact, no aliases). */
function validKey(value: string | null): string {
  const key = value ? findKey(value) : null;
  if (!key || key.code !== value) throw invalid('keyboard key', value);
  return key.code;
}

function validBool(value: string | null, name: string): boolean {
  const v = (value ?? '').toLowerCase();
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw invalid(`boolean ${name}`, value);
}

function validInt(value: string | null, name: string): number {
  const n = Number(value);
  if (value === null || !Number.isInteger(n) || n < 0) throw invalid(`${name} (an integer of 0 or more)`, value);
  return n;
}

function validAxis(value: string | null, name: string): number {
  const n = Number(value);
  if (value === null || value.trim() === '' || !Number.isInteger(n)) throw invalid(`${name} (an integer)`, value);
  return Math.min(AXIS_MAX, Math.max(AXIS_MIN, n));
}
