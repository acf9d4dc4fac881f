// The virtual PC's front-panel power button (the PWR_SW header). Whatever presses it (the board's power pin on
// either line, the PiKVM's ATX output) shorts the same two pins, and the PC reacts as an ATX PC does:
// - a press while it is off powers it on (at the press);
// - held for `forceOffMs` (4 s) while it is on, the supply is cut: forced off;
// - a shorter press that began while it was on asks the OS to shut down. Windows' default power-button action
//   on a desktop is "Shut down", during OOBE too, so the device powers off; while it is still booting (firmware,
//   spinner: the keyboard offline) nothing reads the button yet and the press does nothing.

/** What the button switches: the virtual device. */
export interface PowerTarget {
  readonly poweredOn: boolean;
  /** The OS runs and reads input (not off, not in firmware or a reboot). */
  readonly keyboardOnline: boolean;
  powerOn(): void;
  powerOff(): void;
}

/** One connection to the button (a board's pin, the ATX output): pressed or not. */
export interface PowerPin {
  set(pressed: boolean): void;
  readonly pressed: boolean;
}

export interface PowerButtonStats {
  presses: number;
  poweredOn: number;
  softOffs: number;
  forcedOffs: number;
  /** Short presses while the device was booting: nothing read them. */
  ignored: number;
}

export class PowerButton {
  private readonly pins = new Set<{ pressed: boolean }>();
  private down = false;
  private startedOn = false;
  private forceTimer: NodeJS.Timeout | null = null;
  private readonly forceOffMs: number;
  readonly stats: PowerButtonStats = { presses: 0, poweredOn: 0, softOffs: 0, forcedOffs: 0, ignored: 0 };

  constructor(private readonly target: PowerTarget, opts: { forceOffMs?: number } = {}) {
    this.forceOffMs = opts.forceOffMs ?? 4000;
  }

  /** The button is pressed now (any pin holds it). */
  get pressed(): boolean {
    return this.down;
  }

  /** A new connection to the button; pins are wired in parallel. */
  pin(): PowerPin {
    const pin = { pressed: false };
    this.pins.add(pin);
    const button = this;
    return {
      get pressed() { return pin.pressed; },
      set(pressed: boolean) {
        if (pin.pressed === pressed) return;
        pin.pressed = pressed;
        button.update();
      },
    };
  }

  close(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
    this.forceTimer = null;
  }

  private update(): void {
    const down = [...this.pins].some((p) => p.pressed);
    if (down === this.down) return;
    this.down = down;
    if (down) this.onPress();
    else this.onRelease();
  }

  private onPress(): void {
    this.stats.presses++;
    this.startedOn = this.target.poweredOn;
    if (!this.startedOn) {
      this.target.powerOn();
      this.stats.poweredOn++;
    }
    // Held long enough, any ATX PC cuts its supply, even one that this press just turned on.
    this.forceTimer = setTimeout(() => {
      this.forceTimer = null;
      if (this.down && this.target.poweredOn) {
        this.target.powerOff();
        this.stats.forcedOffs++;
      }
    }, this.forceOffMs);
    this.forceTimer.unref?.();
  }

  private onRelease(): void {
    const forced = this.forceTimer === null;
    if (this.forceTimer) clearTimeout(this.forceTimer);
    this.forceTimer = null;
    if (forced || !this.startedOn || !this.target.poweredOn) return;
    if (this.target.keyboardOnline) {
      this.target.powerOff();
      this.stats.softOffs++;
    } else {
      this.stats.ignored++;
    }
  }
}
