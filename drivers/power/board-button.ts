// Power through the keyboard board's power-button output (POWER_BUTTON 0x20 of this project's firmware), wired
// to the PC's front-panel PWR_SW pins, over the same acknowledged serial link as the keys. A short press powers
// the PC on (or asks its OS to shut down); a long press (5 s) forces it off.
//
// The board cannot see the power LED; what it sees is whether the PC reads its USB keyboard (the KEYBOARD_OFFLINE
// flag of every answer). So: online means on; offline means off, asleep or still booting ('unknown'). on()
// presses only when the keyboard is offline, since a short press on a running Windows shuts it down, and it is
// confirmed by the keyboard coming online; off() is confirmed by the keyboard going offline.
import type { PowerButtonMode } from '../hid/protocol.ts';
import type { BoardStatus } from '../hid/types.ts';
import type { Power, PowerState } from './types.ts';

/** What this driver needs of the board: SerialBoard has it. */
export interface PowerButtonBoard {
  readonly description: string;
  powerButton(mode: PowerButtonMode): Promise<{ pressed: boolean }>;
  status(): Promise<BoardStatus>;
}

export interface BoardButtonOptions {
  /** How long on() waits for the PC to read the keyboard after the press (default 180 s; 0: do not wait). */
  onTimeoutMs?: number;
  /** How long off() waits for the keyboard to go offline once the press is over (default 120 s; 0: do not wait). */
  offTimeoutMs?: number;
  /** How long the board holds a long press (the firmware: 5000 ms); off(true) waits for it to end. */
  longPressMs?: number;
  /** How often the status is read while waiting. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class BoardButtonPower implements Power {
  readonly description: string;
  private readonly onTimeoutMs: number;
  private readonly offTimeoutMs: number;
  private readonly longPressMs: number;
  private readonly pollMs: number;

  constructor(private readonly board: PowerButtonBoard, opts: BoardButtonOptions = {}) {
    this.description = `power button on ${board.description}`;
    this.onTimeoutMs = opts.onTimeoutMs ?? 180_000;
    this.offTimeoutMs = opts.offTimeoutMs ?? 120_000;
    this.longPressMs = opts.longPressMs ?? 5000;
    this.pollMs = opts.pollMs ?? 250;
  }

  async on(): Promise<void> {
    if ((await this.board.status()).keyboardOnline) return; // already on: a press would shut it down
    await this.press('short');
    if (this.onTimeoutMs > 0) {
      await this.waitFor(true, this.onTimeoutMs,
        'pressed the power button (short press) but the device did not start reading the board\'s keyboard within {s}: ' +
        'is the power pin wired to the PC\'s PWR_SW header (firmware/README.md, "The power button"), and does the PC boot?');
    }
  }

  /**
   * Soft off (a short press: the OS shuts down) or, with `force`, a long press that cuts the supply. A soft off
   * of a PC whose keyboard is offline does nothing: it is off, or not yet running anything that hears the button.
   */
  async off(force = false): Promise<void> {
    if (!force) {
      if (!(await this.board.status()).keyboardOnline) return;
      await this.press('short');
    } else {
      await this.press('long');
      await sleep(this.longPressMs + 200); // the board lets go by itself; the PC is off by then
    }
    if (this.offTimeoutMs > 0) {
      await this.waitFor(false, this.offTimeoutMs,
        `pressed the power button (${force ? 'long press, 5 s' : 'short press'}) but the device still reads the board's keyboard after {s}: ` +
        (force ? 'is the power pin wired to the PC\'s PWR_SW header?' : 'the OS may ignore the button (power options), try off with force'));
    }
  }

  async cycle(): Promise<void> {
    await this.off(true);
    await this.on();
  }

  async state(): Promise<PowerState> {
    return (await this.board.status()).keyboardOnline ? 'on' : 'unknown';
  }

  async close(): Promise<void> {
    // The board belongs to the station's keyboard; whoever opened it closes it.
  }

  private async press(mode: PowerButtonMode): Promise<void> {
    const answer = await this.board.powerButton(mode);
    if (!answer.pressed) throw new Error(`the board on ${this.board.description} acknowledged POWER_BUTTON ${mode} but reports the button released`);
  }

  private async waitFor(online: boolean, timeoutMs: number, message: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.board.status()).keyboardOnline === online) return;
      if (Date.now() >= deadline) throw new Error(message.replace('{s}', `${(timeoutMs / 1000).toFixed(0)} s`));
      await sleep(this.pollMs);
    }
  }
}
