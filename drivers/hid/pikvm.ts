// A PiKVM as the station's keyboard and pointer, over its HTTP API: keys by W3C code
// (POST /api/hid/events/send_key?key=KeyA&state=true), the absolute pointer (send_mouse_move, -32768..32767 with
// 0 the centre; send_mouse_button), text typed key by key through the project's layouts (or, when asked, sent whole
// to /api/hid/print with the matching keymap), and the device's keyboard status from GET /api/hid, polled so the
// engine hears when the device stops reading the keyboard or the PiKVM stops answering. Each request is answered
// before the next goes; none is sent twice. A secret (a Wi-Fi key) goes in the body of /api/hid/print, slowly,
// never key by key: a key in a URL would land in the PiKVM's web server log. Messages name positions, never keys.
import { findKey, type KeyInfo } from './keymap.ts';
import { findLayout, textToStrokes } from './layouts/index.ts';
import { PikvmClient, parsePikvmSpec, type PikvmClientOptions, type PikvmConfig } from './pikvm-api.ts';
import type { BoardStatus, HidDevice, TypeOptions } from './types.ts';

export interface PikvmHidOptions extends PikvmClientOptions {
  /** Keyboard layout of the device for type(): us (default), uk, de, fr. */
  layout?: string;
  /** 'keys' (default): each character as key events through the layout; 'print': the text to /api/hid/print. Secrets always print. */
  typeVia?: 'keys' | 'print';
  /** Pause after each character typed key by key. */
  keyGapMs?: number;
  /** Pause after Shift or AltGr goes down and before it comes up. */
  shiftGapMs?: number;
  /** Read GET /api/hid this often to notice changes; 0 turns it off. */
  pollMs?: number;
}

/** PiKVM's keymap names for /api/hid/print, for the project's layouts. */
const PRINT_KEYMAPS: Record<string, string> = { us: 'en-us', uk: 'en-gb', de: 'de', fr: 'fr' };

interface HidState {
  online?: boolean;
  keyboard?: { online?: boolean; leds?: { caps?: boolean; num?: boolean; scroll?: boolean } };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PikvmHid implements HidDevice {
  readonly description: string;
  private readonly layoutName: string;
  private readonly typeVia: 'keys' | 'print';
  private readonly keyGapMs: number;
  private readonly shiftGapMs: number;
  private readonly pollMs: number;
  private readonly listeners: Array<(status: BoardStatus) => void> = [];
  private readonly held = new Set<string>();
  private current: BoardStatus | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(readonly client: PikvmClient, opts: PikvmHidOptions = {}) {
    this.description = `keyboard and pointer of ${client.description}`;
    this.layoutName = findLayout(opts.layout ?? 'us').name;
    this.typeVia = opts.typeVia ?? 'keys';
    this.keyGapMs = opts.keyGapMs ?? 5;
    this.shiftGapMs = opts.shiftGapMs ?? 30;
    this.pollMs = opts.pollMs ?? 500;
  }

  /** Keys held down now, as far as the host knows (W3C codes). */
  get keysHeld(): string[] {
    return [...this.held];
  }

  onStatus(listener: (status: BoardStatus) => void): void {
    this.listeners.push(listener);
  }

  // --- Keyboard -------------------------------------------------------------------------------------

  async tap(chord: string | string[]): Promise<void> {
    const keys = parseChord(chord);
    await this.exclusive(() => this.chord(keys.map((k) => k.code)));
  }

  async down(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key.code, true));
  }

  async up(name: string): Promise<void> {
    const key = resolveKey(name);
    await this.exclusive(() => this.key(key.code, false));
  }

  async type(text: string, options: TypeOptions = {}): Promise<void> {
    const layout = findLayout(options.layout ?? this.layoutName);
    // Refuses the whole text before anything is sent when a character cannot be typed.
    const chars = textToStrokes(text, layout, { secret: options.secret });
    await this.exclusive(async () => {
      if (this.typeVia === 'print' || options.secret) {
        try {
          // slow: kvmd's pause between keys (0.02 s), so a password box that reads slowly misses nothing.
          const query = { keymap: PRINT_KEYMAPS[layout.name], limit: 0, ...(options.secret ? { slow: 1 } : {}) };
          await this.client.call('POST', '/api/hid/print', query, text);
        } catch (error) {
          throw new Error(`typing ${chars.length} characters through /api/hid/print failed: ${(error as Error).message}`);
        }
        return;
      }
      for (const [i, ch] of chars.entries()) {
        for (const stroke of ch.strokes) {
          const codes = [...(stroke.shift ? ['ShiftLeft'] : []), ...(stroke.altGr ? ['AltRight'] : []), stroke.code];
          try {
            await this.chord(codes, codes.length > 1 ? this.shiftGapMs : 0);
          } catch (error) {
            // The key is not named: a secret's characters stay out of every message.
            throw new Error(`typing character ${i + 1} of ${chars.length} failed: ${(error as Error).message}`);
          }
        }
        if (this.keyGapMs > 0) await sleep(this.keyGapMs);
      }
    });
  }

  async releaseAll(): Promise<void> {
    await this.exclusive(async () => {
      await this.client.call('POST', '/api/hid/reset');
      this.held.clear();
    });
  }

  async status(): Promise<BoardStatus> {
    return this.readStatus();
  }

  // --- Pointer --------------------------------------------------------------------------------------

  async move(x: number, y: number): Promise<void> {
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) throw new Error(`pointer position must be 0..1 on each axis, got x=${x}, y=${y}`);
    const axis = (v: number) => Math.round(v * 65535 - 32768);
    await this.exclusive(() => this.client.call('POST', '/api/hid/events/send_mouse_move', { to_x: axis(x), to_y: axis(y) }));
  }

  async click(button: 'left' | 'right' | 'middle' = 'left'): Promise<void> {
    await this.exclusive(async () => {
      await this.client.call('POST', '/api/hid/events/send_mouse_button', { button, state: true });
      await this.client.call('POST', '/api/hid/events/send_mouse_button', { button, state: false });
    });
  }

  // --- Life cycle -----------------------------------------------------------------------------------

  startPolling(): void {
    if (this.pollMs <= 0 || this.pollTimer || this.closed) return;
    const tick = () => {
      this.pollTimer = null;
      if (this.closed) return;
      this.readStatus().catch(() => {}).finally(() => {
        if (this.closed) return;
        this.pollTimer = setTimeout(tick, this.pollMs);
        this.pollTimer.unref();
      });
    };
    this.pollTimer = setTimeout(tick, this.pollMs);
    this.pollTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.queue.catch(() => {});
    if (this.held.size > 0) await this.client.call('POST', '/api/hid/reset').catch(() => {});
    this.client.close();
  }

  // --- Inside ---------------------------------------------------------------------------------------

  /** Presses in order, releases in reverse; on a failure, lets go of what it pressed (best effort). */
  private async chord(codes: string[], modifierGapMs = 0): Promise<void> {
    const pressed: string[] = [];
    try {
      for (const [i, code] of codes.entries()) {
        if (i === codes.length - 1 && modifierGapMs > 0) await sleep(modifierGapMs);
        await this.key(code, true);
        pressed.push(code);
      }
      for (const [i, code] of [...pressed].reverse().entries()) {
        if (i === 1 && modifierGapMs > 0) await sleep(modifierGapMs);
        await this.key(code, false);
      }
    } catch (error) {
      for (const code of [...pressed].reverse()) {
        if (!this.held.has(code)) continue;
        try { await this.key(code, false); } catch { break; }
      }
      throw error;
    }
  }

  private async key(code: string, down: boolean): Promise<void> {
    await this.client.call('POST', '/api/hid/events/send_key', { key: code, state: down });
    if (down) this.held.add(code);
    else this.held.delete(code);
  }

  private async readStatus(): Promise<BoardStatus> {
    try {
      const hid = await this.client.call<HidState>('GET', '/api/hid');
      const leds = hid.keyboard?.leds ?? {};
      return this.note({
        keyboardOnline: hid.online !== false && hid.keyboard?.online === true,
        capsLock: !!leds.caps,
        numLock: !!leds.num,
        scrollLock: !!leds.scroll,
        resetRequired: false,
        linkUp: true,
      });
    } catch (error) {
      if (this.current?.linkUp !== false && (error as { status?: number }).status === 0) {
        this.note({ ...(this.current ?? offline()), linkUp: false });
      }
      throw error;
    }
  }

  private note(status: BoardStatus): BoardStatus {
    const before = this.current;
    this.current = status;
    if (before && !sameStatus(before, status)) for (const l of this.listeners) l({ ...status });
    return status;
  }

  /** One request (or one chord, one text) at a time, in order. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.description} is closed`));
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }
}

/**
 * Opens a PiKVM as keyboard and pointer from `pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR]`
 * (or a bench file's config): reads /api/hid (which checks the address and the credentials), releases every
 * key, and starts polling the status.
 */
export async function openPikvmHid(spec: string | PikvmConfig, opts: PikvmHidOptions = {}): Promise<PikvmHid> {
  const config = typeof spec === 'string' ? parsePikvmSpec(spec) : spec;
  const client = new PikvmClient(config, opts);
  const hid = new PikvmHid(client, opts);
  try {
    await hid.status();
    await hid.releaseAll();
  } catch (error) {
    client.close();
    throw error;
  }
  hid.startPolling();
  return hid;
}

function resolveKey(name: string): KeyInfo {
  const key = findKey(name);
  if (!key) throw new Error(`unknown key '${name}': use W3C code names (KeyA, Enter, MetaLeft, ArrowDown, F10) or DuckyScript names (GUI, CTRL, ENTER)`);
  return key;
}

function parseChord(chord: string | string[]): KeyInfo[] {
  const names = Array.isArray(chord) ? chord : chord.split(/[\s+]+/).filter(Boolean);
  if (names.length === 0) throw new Error(`empty key chord ${JSON.stringify(chord)}`);
  return names.map(resolveKey);
}

function offline(): BoardStatus {
  return { keyboardOnline: false, capsLock: false, numLock: false, scrollLock: false, resetRequired: false };
}

function sameStatus(a: BoardStatus, b: BoardStatus): boolean {
  return a.keyboardOnline === b.keyboardOnline && a.capsLock === b.capsLock && a.numLock === b.numLock &&
    a.scrollLock === b.scrollLock && a.linkUp === b.linkUp;
}
