// The virtual PC: Windows 10/11 setup through the pre-provisioning technician flow, as a state machine that
// reads only USB HID input (keyboard keys by W3C code, an absolute pointer) and shows a ScreenView.
// Wrong input does what Windows would do, so that a wrong agent fails visibly.
import { randomUUID } from 'node:crypto';
import { KEYS } from '../drivers/hid/keymap.ts';
import type { MouseButton } from '../drivers/hid/protocol.ts';
import { SimClock, formatElapsed, type Clock, type Timer } from './clock.ts';
import { buildEspPlan, espAt, type EspPlan } from './esp.ts';
import * as pages from './pages.ts';
import type { Scenario } from './scenario.ts';
import { MODIFIER_CODES, charForKey } from './typing.ts';
import type { HitTarget, Os, ScreenView, SimScreenId } from './view.ts';

export type HidEvent = (
  | { type: 'key'; code: string; down: boolean }
  | { type: 'move'; x: number; y: number }
  | { type: 'button'; button: MouseButton; down: boolean }
  | { type: 'wheel'; dy: number }
  | { type: 'clear' }
) & {
  /** Real milliseconds since the device was created. */
  t: number;
  /** Set when the device was not reading its keyboard/mouse (off or rebooting): the event had no effect. */
  offline?: true;
};

export interface EspLogEntry {
  /** Simulated seconds since Provision. */
  t: number;
  attempt: number;
  phase: string;
  item: string;
  state: string;
}

export interface Leds {
  capsLock: boolean;
  numLock: boolean;
  scrollLock: boolean;
}

/** What /state shows. */
export interface SimState {
  scenario: string;
  os: Os;
  /** The current screen id (reference/screens.md, plus the sim-only panels). */
  screen: SimScreenId;
  style: ScreenView['style'];
  title: string | null;
  /** What has keyboard focus: 'list', 'input', a button id, or null. */
  focus: string | null;
  poweredOn: boolean;
  keyboardOnline: boolean;
  leds: Leds;
  capsLock: boolean;
  resealed: boolean;
  /** Provisioning attempts started (Provision/Next on the configuration page, each Retry). */
  attempts: number;
  /** Windows-key presses counted in the current five-second window. */
  winKeyPresses: number;
  /** The network setup is connected to: an SSID, "Ethernet", or null. */
  network: string | null;
  choices: { region: string; keyboard: string; secondKeyboard: string | null };
  diagnosticsExported: number;
  /** Simulated milliseconds since the device started, and the clock speed. */
  simTimeMs: number;
  speed: number;
  /** Counts view changes (one per new frame). */
  viewVersion: number;
  /** Screens in the order they were shown (repeats collapsed), with real ms since start. */
  history: { screen: SimScreenId; t: number }[];
  hid: HidEvent[];
  /** Every printable character the keyboard produced, in order, whatever the screen did with it. */
  typed: string;
  espLog: EspLogEntry[];
}

export interface VirtualDeviceOptions {
  scenario: Scenario;
  /** Default: a real clock at the scenario's speed. */
  clock?: Clock;
  /** What a pointer press at (x, y), each 0..1 of the frame, lands on (the renderer's layout); none: clicks do nothing. */
  hitTest?: (view: ScreenView, x: number, y: number) => HitTarget | null;
  /** Start powered off (call powerOn()); default: powered on and booting. */
  poweredOff?: boolean;
}

/** Real seconds within which five Windows-key presses open the provisioning options. */
export const WIN_KEY_WINDOW_MS = 5000;
const WIN_KEY_SCREENS: SimScreenId[] = ['entra-signin', 'oobe-region', 'oobe-keyboard'];

type StepKind = 'black' | 'spinner' | 'busy';
interface Step {
  kind: StepKind;
  title?: string;
  /** Simulated seconds. */
  seconds: number;
}

interface WifiEntry {
  ssid: string;
  secured: boolean;
  key?: string;
  internet: boolean;
}

/** The interactive page on screen and what the user has done on it. */
interface PageState {
  screen: SimScreenId;
  selected: number;
  input: string;
  focus: string | null;
  error?: string;
  /** oobe-network: the selected network's key box is open / a connection is being made. */
  keyOpen?: boolean;
  connecting?: number;
  /** entra pages: the organization branding (null: no Autopilot profile), and the e-mail typed. */
  organization?: string | null;
  email?: string;
  /** Random Id of the QR payload, new each time the page is shown. */
  qrId?: string;
  exported?: boolean;
}

interface EspRun {
  plan: EspPlan;
  startedAt: number;
  detailsHidden: boolean;
  lastStates: string[];
}

interface Outcome {
  kind: 'success' | 'failure';
  code: string | null;
  elapsed: string;
  /** The item the ESP failed at, where Retry resumes. */
  resumeAt: number;
}

const MODIFIER_BITS: [number, string][] = [
  [0x01, 'ControlLeft'], [0x02, 'ShiftLeft'], [0x04, 'AltLeft'], [0x08, 'MetaLeft'],
  [0x10, 'ControlRight'], [0x20, 'ShiftRight'], [0x40, 'AltRight'], [0x80, 'MetaRight'],
];
const CODE_BY_USAGE = new Map(KEYS.filter((k) => k.usage !== null).map((k) => [k.usage as number, k.code]));

export class VirtualDevice {
  readonly scenario: Scenario;
  readonly clock: Clock;
  private readonly hitTest?: VirtualDeviceOptions['hitTest'];
  private readonly startedReal: number;
  private readonly viewListeners = new Set<(view: ScreenView, version: number) => void>();

  // Power and what is on screen.
  private poweredOn = false;
  private resealed = false;
  private step: Step | null = null;
  private page: PageState = { screen: 'no-signal', selected: -1, input: '', focus: null };
  private pending: Timer | null = null;
  private current: ScreenView;
  private currentJson = '';
  private version = 0;

  // What setup has done so far (forgotten on Reset).
  private wifi: WifiEntry[] = [];
  private connected = -1;
  private wired = false;
  private eulaAccepted = false;
  /** Refresh presses on the configuration page since setup began (a late profile shows after some). */
  private refreshes = 0;
  /** Set when the options were chosen before any network: the configuration page comes after the network. */
  private configAfterNetwork = false;
  private choices: SimState['choices'] = { region: pages.REGIONS[0], keyboard: pages.KEYBOARDS[0], secondKeyboard: null };

  // Provisioning.
  private attempts = 0;
  private provisionAt: number | null = null;
  private esp: EspRun | null = null;
  private outcome: Outcome | null = null;
  private diagnosticsExported = 0;

  // Input.
  private readonly pressed = new Set<string>();
  private leds: Leds = { capsLock: false, numLock: false, scrollLock: false };
  private pointerAt = { x: 0, y: 0 };
  private pointerDown: HitTarget | null = null;
  private readonly buttonsDown = new Set<MouseButton>();
  private winPresses: number[] = [];

  // Record.
  private readonly hid: HidEvent[] = [];
  private typed = '';
  private readonly espLog: EspLogEntry[] = [];
  private readonly history: SimState['history'] = [];

  constructor(opts: VirtualDeviceOptions) {
    this.scenario = opts.scenario;
    this.clock = opts.clock ?? new SimClock(opts.scenario.speed);
    this.hitTest = opts.hitTest;
    this.startedReal = this.clock.realNow();
    this.current = this.buildView();
    this.commit();
    if (!opts.poweredOff) this.powerOn();
  }

  get os(): Os {
    return this.scenario.os;
  }

  /** The device reads the board's keyboard and mouse: powered on and not in a reboot. */
  get keyboardOnline(): boolean {
    return this.poweredOn && (this.step === null || this.step.kind === 'busy');
  }

  getLeds(): Leds {
    return { ...this.leds };
  }

  view(): ScreenView {
    return this.current;
  }

  /** Called with each new view (a new frame to draw). Returns a function that removes the listener. */
  onView(listener: (view: ScreenView, version: number) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  get viewVersion(): number {
    return this.version;
  }

  state(): SimState {
    const v = this.current;
    return {
      scenario: this.scenario.name,
      os: this.os,
      screen: v.screen,
      style: v.style,
      title: v.title ?? null,
      focus: v.focus,
      poweredOn: this.poweredOn,
      keyboardOnline: this.keyboardOnline,
      leds: { ...this.leds },
      capsLock: this.leds.capsLock,
      resealed: this.resealed,
      attempts: this.attempts,
      winKeyPresses: this.recentWinPresses().length,
      network: this.wired ? 'Ethernet' : this.connected >= 0 ? this.wifi[this.connected].ssid : null,
      choices: { ...this.choices },
      diagnosticsExported: this.diagnosticsExported,
      simTimeMs: Math.round(this.clock.now()),
      speed: this.clock.speed,
      viewVersion: this.version,
      history: [...this.history],
      hid: [...this.hid],
      typed: this.typed,
      espLog: [...this.espLog],
    };
  }

  // ---------------------------------------------------------------- power

  /** Powers the device on: firmware, boot, then a fresh setup (what a power button does after Reseal). */
  powerOn(): void {
    if (this.poweredOn) return;
    this.poweredOn = true;
    this.forgetSetup();
    this.boot();
    this.commit();
  }

  /** Cuts power: black frames, keyboard offline, every timer stopped. */
  powerOff(): void {
    this.poweredOn = false;
    this.cancelPending();
    this.step = null;
    this.leds = { capsLock: false, numLock: false, scrollLock: false };
    this.page = { screen: 'no-signal', selected: -1, input: '', focus: null };
    this.commit();
  }

  /** Stops every timer (the simulator is closing). */
  close(): void {
    this.cancelPending();
    this.clock.cancelAll();
  }

  // ---------------------------------------------------------------- keyboard

  key(code: string, down: boolean): void {
    if (down) this.keyDown(code);
    else this.keyUp(code);
  }

  keyDown(code: string): void {
    const online = this.record({ type: 'key', code, down: true });
    this.pressed.add(code);
    if (!online) return;
    this.handleKeyDown(code);
    this.commit();
  }

  keyUp(code: string): void {
    this.record({ type: 'key', code, down: false });
    this.pressed.delete(code);
  }

  /** A USB boot keyboard report: modifier bits and up to six usages; presses and releases what changed. */
  keyboardReport(modifiers: number, usages: number[]): void {
    const want = new Set<string>();
    for (const [bit, code] of MODIFIER_BITS) if (modifiers & bit) want.add(code);
    for (const u of usages) {
      const code = CODE_BY_USAGE.get(u);
      if (code) want.add(code);
    }
    for (const code of [...this.pressed]) if (!want.has(code)) this.keyUp(code);
    const order = [...want].sort((a, b) => Number(MODIFIER_CODES.has(b)) - Number(MODIFIER_CODES.has(a)));
    for (const code of order) if (!this.pressed.has(code)) this.keyDown(code);
  }

  /** Releases every key and button (the board's CLEAR_HID). */
  releaseAll(): void {
    this.record({ type: 'clear' });
    this.pressed.clear();
    this.buttonsDown.clear();
    this.pointerDown = null;
  }

  // ---------------------------------------------------------------- pointer

  /** Absolute pointer position, 0..1 of the frame on each axis. */
  pointerMove(x: number, y: number): void {
    this.record({ type: 'move', x: round4(x), y: round4(y) });
    this.pointerAt = { x: clamp01(x), y: clamp01(y) };
  }

  pointerButton(button: MouseButton, down: boolean): void {
    const online = this.record({ type: 'button', button, down });
    if (down) this.buttonsDown.add(button);
    else this.buttonsDown.delete(button);
    if (!online || button !== 'left') return;
    const target = this.hitTest ? this.hitTest(this.current, this.pointerAt.x, this.pointerAt.y) : null;
    if (down) {
      this.pointerDown = target;
      // A list item is selected as the button goes down, as in Windows.
      if (target?.kind === 'list-item') this.selectListItem(target.index);
      if (target?.kind === 'input') this.page.focus = 'input';
    } else {
      const pressedOn = this.pointerDown;
      this.pointerDown = null;
      // A button acts when released over the button it was pressed on.
      if (target?.kind === 'button' && pressedOn?.kind === 'button' && pressedOn.id === target.id) {
        const button = this.current.buttons.find((b) => b.id === target.id);
        if (button?.enabled) {
          this.page.focus = target.id;
          this.press(target.id);
        }
      }
    }
    this.commit();
  }

  /** Moves the pointer and sets the buttons (bit 0 left, 1 right, 2 middle), like an absolute HID report. */
  pointer(x: number, y: number, buttons: number): void {
    this.pointerMove(x, y);
    const bits: [MouseButton, number][] = [['left', 1], ['right', 2], ['middle', 4]];
    for (const [name, bit] of bits) {
      const down = (buttons & bit) !== 0;
      if (down !== this.buttonsDown.has(name)) this.pointerButton(name, down);
    }
  }

  wheel(dy: number): void {
    this.record({ type: 'wheel', dy });
  }

  // ---------------------------------------------------------------- internals: recording and views

  /** Appends a HID event; returns whether the device was reading input. */
  private record(event: DistributiveOmit<HidEvent, 't' | 'offline'>): boolean {
    const online = this.keyboardOnline;
    const t = Math.round(this.clock.realNow() - this.startedReal);
    this.hid.push({ ...event, t, ...(online ? {} : { offline: true as const }) } as HidEvent);
    return online;
  }

  private commit(): void {
    const view = this.buildView();
    const json = JSON.stringify(view);
    if (json === this.currentJson) return;
    this.current = view;
    this.currentJson = json;
    this.version++;
    const last = this.history.at(-1);
    if (last?.screen !== view.screen) {
      this.history.push({ screen: view.screen, t: Math.round(this.clock.realNow() - this.startedReal) });
      this.winPresses = [];
    }
    for (const listener of this.viewListeners) listener(view, this.version);
  }

  private buildView(): ScreenView {
    const os = this.os;
    if (!this.poweredOn) return { ...pages.blackView(os), focus: null };
    if (this.step) {
      const s = this.step;
      const base = s.kind === 'black' ? pages.blackView(os) : s.kind === 'spinner' ? pages.spinnerView(os) : pages.busyView(os, s.title ?? pages.BUSY.moment);
      return { ...base, focus: null };
    }
    const page = this.pageView();
    const order = focusOrder(page);
    // Focus on something that is gone (a closed key box, a disabled button) falls back to the first control.
    if (this.page.focus !== null && !order.includes(this.page.focus)) this.page.focus = order[0] ?? null;
    return { ...page, focus: this.page.focus };
  }

  private pageView(): Omit<ScreenView, 'focus'> {
    const os = this.os;
    const p = this.page;
    switch (p.screen) {
      case 'oobe-region': return pages.regionView(os, p.selected);
      case 'oobe-keyboard': return pages.keyboardView(os, p.selected);
      case 'oobe-keyboard-second': return pages.secondKeyboardView(os);
      case 'keyboard-layout-picker': return pages.layoutPickerView(os, p.selected);
      case 'oobe-network': return pages.networkView(os, this.networkPageState());
      case 'oobe-eula': return pages.eulaView(os);
      case 'entra-signin': return pages.entraSigninView(os, p.organization ?? null, p.input, p.error);
      case 'entra-password': return pages.entraPasswordView(os, p.organization ?? null, p.email ?? '', p.input, p.error);
      case 'provisioning-options': return pages.optionsView(os, p.selected, this.scenario.screens.provisioningPackage);
      case 'provisioning-package': return pages.packageView(os);
      case 'provisioning-config': return pages.configView(os, this.details(), this.qr(p.qrId!));
      case 'esp': {
        const run = this.esp!;
        const snap = espAt(run.plan, (this.clock.now() - run.startedAt) / 1000, run.detailsHidden);
        return pages.espView(os, { phases: snap.phases }, run.detailsHidden);
      }
      case 'provisioning-success': return pages.successView(os, this.details(), this.outcome!.elapsed, this.qr(p.qrId!));
      case 'provisioning-failure': return pages.failureView(os, this.details(), this.outcome!.elapsed, this.outcome!.code, this.qr(p.qrId!));
      case 'provisioning-diagnostics': return pages.diagnosticsView(os, !!p.exported);
      case 'oobe-consumer-setup': return pages.consumerSetupView(os, p.selected);
      case 'msa-signin': return pages.msaSigninView(os, p.input, p.error);
      case 'windows-login': return pages.windowsLoginView(os, 'Lab Admin');
      default: return pages.blackView(os);
    }
  }

  private details(): pages.Details {
    const d = this.scenario.device;
    if (!d.hasProfile) return { organization: 'No organization found', profile: 'No Autopilot profile was found', user: '' };
    const late = d.profileArrives && this.refreshes < d.profileArrives.afterRefreshes;
    return { organization: d.organization, profile: late ? d.profileArrives!.before : d.profile, user: d.user };
  }

  private qr(id: string): string {
    const d = this.scenario.device;
    return pages.qrPayload(d.qrFormat, id, d.ztdId, d.serial);
  }

  private networkPageState(): pages.NetworkPageState {
    const p = this.page;
    const items = this.wifi.map((w, i) => {
      let detail: string;
      if (p.connecting === i) detail = pages.WIFI_DETAIL.connecting;
      else if (this.connected === i) {
        detail = w.internet
          ? (w.secured ? pages.WIFI_DETAIL.connectedSecured : pages.WIFI_DETAIL.connectedOpen)
          : (w.secured ? pages.WIFI_DETAIL.noInternetSecured : pages.WIFI_DETAIL.noInternetOpen);
      } else detail = w.secured ? pages.WIFI_DETAIL.secured : pages.WIFI_DETAIL.open;
      return { label: w.ssid, detail };
    });
    let controls: pages.NetworkPageState['selectedControls'] = 'none';
    if (p.selected >= 0 && p.connecting === undefined) {
      if (p.selected === this.connected) controls = 'disconnect';
      else controls = p.keyOpen ? 'key' : 'connect';
    } else if (p.connecting !== undefined) controls = 'connecting';
    return {
      items,
      selected: p.selected,
      selectedControls: controls,
      key: p.input,
      error: p.error,
      canContinue: this.connected >= 0 && this.wifi[this.connected].internet,
    };
  }

  // ---------------------------------------------------------------- internals: flow

  private cancelPending(): void {
    this.pending?.cancel();
    this.pending = null;
  }

  /** Runs timed steps (black, spinner, busy messages) one after another, then `then`. */
  private runSteps(steps: Step[], then: () => void): void {
    this.cancelPending();
    const [first, ...rest] = steps;
    if (!first) {
      this.step = null;
      then();
      this.commit();
      return;
    }
    const wasOnline = this.keyboardOnline;
    this.step = first;
    if (wasOnline && !this.keyboardOnline) this.leds = { capsLock: false, numLock: false, scrollLock: false };
    this.pending = this.clock.after(first.seconds * 1000, () => {
      this.pending = null;
      this.runSteps(rest, then);
    }, this.scenario.timing.minStepMs);
    this.commit();
  }

  private show(screen: SimScreenId, init: Partial<PageState> = {}): void {
    this.cancelPending();
    this.step = null;
    this.page = { screen, selected: -1, input: '', focus: null, ...init };
  }

  private forgetSetup(): void {
    this.wired = this.scenario.network.kind === 'wired';
    const net = this.scenario.network;
    this.wifi = [];
    if (net.kind === 'wifi') {
      const own: WifiEntry = { ssid: net.ssid, secured: net.secured, key: net.key, internet: true };
      this.wifi = net.others.map((o) => ({ ...o }));
      this.wifi.splice(Math.min(net.listIndex, this.wifi.length), 0, own);
    }
    this.connected = -1;
    this.eulaAccepted = false;
    this.refreshes = 0;
    this.configAfterNetwork = false;
    this.provisionAt = null;
    this.esp = null;
    this.outcome = null;
    this.choices = { region: pages.REGIONS[0], keyboard: pages.KEYBOARDS[0], secondKeyboard: null };
  }

  private rebootSteps(): Step[] {
    const t = this.scenario.timing;
    return [{ kind: 'black', seconds: t.rebootBlack }, { kind: 'spinner', seconds: t.reboot }];
  }

  private boot(): void {
    const t = this.scenario.timing;
    this.runSteps([
      { kind: 'black', seconds: t.firmware },
      { kind: 'spinner', seconds: t.boot },
      { kind: 'busy', title: pages.BUSY.moment, seconds: t.busy },
    ], () => this.firstPage());
  }

  private firstPage(): void {
    if (this.scenario.screens.setUp) this.show('windows-login', { focus: 'input' });
    else if (this.scenario.screens.setupPages) this.show('oobe-region', { selected: 0, focus: 'list' });
    else this.toNetwork();
  }

  private toNetwork(): void {
    if (this.wired) this.afterNetwork();
    else this.show('oobe-network', { focus: 'list' });
  }

  private networkReady(): boolean {
    return this.wired || (this.connected >= 0 && this.wifi[this.connected].internet);
  }

  private afterNetwork(): void {
    if (this.scenario.screens.eula && !this.eulaAccepted) {
      this.show('oobe-eula', { focus: 'accept' });
      return;
    }
    const t = this.scenario.timing;
    if (this.configAfterNetwork) {
      this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: t.wait }], () => this.showConfig());
      return;
    }
    const win11 = this.os === 'win11';
    const steps: Step[] = [{ kind: 'busy', title: win11 ? pages.BUSY.updates : pages.BUSY.moment, seconds: t.updates }];
    if (this.scenario.screens.rebootAfterNetwork) {
      if (win11) steps.push({ kind: 'busy', title: pages.BUSY.restart, seconds: t.restartNotice });
      steps.push(...this.rebootSteps(), { kind: 'busy', title: win11 ? pages.BUSY.moment : pages.BUSY.ready, seconds: t.busy });
    }
    this.runSteps(steps, () => {
      if (this.scenario.device.hasProfile) this.show('entra-signin', { focus: 'input', organization: this.scenario.device.organization });
      else this.show('oobe-consumer-setup', { selected: 0, focus: 'list' });
    });
  }

  private showConfig(): void {
    this.show('provisioning-config', { focus: this.os === 'win11' ? 'next' : 'provision', qrId: randomUUID() });
  }

  private provision(): void {
    const t = this.scenario.timing;
    this.attempts++;
    this.provisionAt = this.clock.now();
    if (!this.scenario.device.hasProfile) {
      // Nothing to provision: the red screen of a device without a profile, elapsed time "NaN".
      this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: t.wait }], () => {
        this.outcome = { kind: 'failure', code: null, elapsed: 'NaN', resumeAt: 0 };
        this.show('provisioning-failure', { focus: 'retry', qrId: randomUUID() });
      });
      return;
    }
    const steps: Step[] = [{ kind: 'busy', title: pages.BUSY.wait, seconds: t.wait }];
    if (this.scenario.screens.rebootBeforeEsp) steps.push(...this.rebootSteps(), { kind: 'busy', title: pages.BUSY.moment, seconds: t.busy });
    this.runSteps(steps, () => this.startEsp(0));
  }

  private startEsp(resumeAt: number): void {
    const plan = buildEspPlan(this.scenario, this.attempts, resumeAt);
    this.esp = { plan, startedAt: this.clock.now(), detailsHidden: false, lastStates: [] };
    this.show('esp', { focus: this.os === 'win10' ? 'details' : null });
    this.espTick();
  }

  /** Logs item changes, schedules the next change, and ends the ESP on success or failure. */
  private espTick(): void {
    const run = this.esp!;
    const elapsed = (this.clock.now() - run.startedAt) / 1000;
    const snap = espAt(run.plan, elapsed);
    const states = snap.phases.flatMap((ph) => ph.items.map((i) => `${ph.name}\u0000${i.name}\u0000${i.state}`));
    states.forEach((s, i) => {
      if (run.lastStates[i] !== s) {
        const [phase, item, state] = s.split('\u0000');
        this.espLog.push({ t: Math.round((this.clock.now() - (this.provisionAt ?? 0)) / 1000), attempt: this.attempts, phase, item, state });
      }
    });
    run.lastStates = states;
    if (snap.outcome !== 'running') {
      const hold = this.scenario.timing.espHold * 1000;
      // The ended ESP stays up long enough in real time for a reader to see its last state.
      this.pending = this.clock.after(hold, () => {
        this.pending = null;
        const elapsedMs = this.clock.now() - (this.provisionAt ?? this.clock.now());
        this.outcome = {
          kind: snap.outcome === 'succeeded' ? 'success' : 'failure',
          code: snap.code ?? null,
          elapsed: formatElapsed(elapsedMs),
          resumeAt: snap.current?.index ?? 0,
        };
        this.show(snap.outcome === 'succeeded' ? 'provisioning-success' : 'provisioning-failure', {
          focus: snap.outcome === 'succeeded' ? 'reseal' : 'retry',
          qrId: randomUUID(),
        });
        this.commit();
      }, Math.max(this.scenario.timing.minStepMs, this.scenario.timing.espHoldMs));
      return;
    }
    const waitMs = Math.max(1, (snap.nextChangeSec! - elapsed) * 1000);
    this.pending = this.clock.after(waitMs, () => {
      this.pending = null;
      this.espTick();
      this.commit();
    });
  }

  private reseal(): void {
    this.resealed = true;
    this.powerOff();
  }

  /** Reset on the failure screen: the device is wiped and setup starts over from the first page. */
  private resetDevice(): void {
    const t = this.scenario.timing;
    this.forgetSetup();
    this.runSteps([
      { kind: 'busy', title: pages.BUSY.wait, seconds: t.wait },
      ...this.rebootSteps(),
      { kind: 'busy', title: pages.BUSY.moment, seconds: t.busy },
    ], () => this.firstPage());
  }

  private openOptions(): void {
    this.show('provisioning-options', { focus: 'list', selected: -1 });
  }

  // ---------------------------------------------------------------- internals: input on pages

  private handleKeyDown(code: string): void {
    const shift = this.pressed.has('ShiftLeft') || this.pressed.has('ShiftRight');
    const ctrl = this.pressed.has('ControlLeft') || this.pressed.has('ControlRight');
    const alt = this.pressed.has('AltLeft') || this.pressed.has('AltRight');
    const meta = this.pressed.has('MetaLeft') || this.pressed.has('MetaRight');

    if (code === 'CapsLock') this.leds.capsLock = !this.leds.capsLock;
    if (code === 'NumLock') this.leds.numLock = !this.leds.numLock;
    if (code === 'ScrollLock') this.leds.scrollLock = !this.leds.scrollLock;

    const char = charForKey(code, { shift, command: ctrl || alt || meta, capsLock: this.leds.capsLock, numLock: this.leds.numLock });
    if (char !== null) this.typed += char;

    if (code === 'MetaLeft' || code === 'MetaRight') {
      this.windowsKey();
      return;
    }
    if (this.step || !this.poweredOn) return; // busy screens take no input

    if (ctrl && shift && code === 'KeyD') {
      if (this.page.screen === 'provisioning-failure' && this.os === 'win11') this.openDiagnostics();
      return;
    }
    if (ctrl || alt || meta) return;

    const view = this.current;
    const order = focusOrder(view);
    const focus = this.page.focus;
    switch (code) {
      case 'Tab': {
        if (!order.length) return;
        const i = focus === null ? -1 : order.indexOf(focus);
        const next = shift ? (i <= 0 ? order.length - 1 : i - 1) : (i + 1) % order.length;
        this.page.focus = order[next];
        return;
      }
      case 'ArrowDown': case 'ArrowRight': case 'ArrowUp': case 'ArrowLeft': case 'Home': case 'End': {
        if (focus !== 'list' || !view.list) return;
        const n = view.list.items.length;
        const sel = view.list.selected;
        let to = sel;
        if (code === 'Home') to = 0;
        else if (code === 'End') to = n - 1;
        else if (sel < 0) to = 0;
        else if (code === 'ArrowDown' || code === 'ArrowRight') to = Math.min(n - 1, sel + 1);
        else to = Math.max(0, sel - 1);
        this.selectListItem(to);
        return;
      }
      case 'Enter': case 'NumpadEnter': {
        const target = focus === 'list' || focus === 'input' ? defaultButton(view, focus) : focus;
        const button = view.buttons.find((b) => b.id === target);
        if (button?.enabled) this.press(button.id);
        return;
      }
      case 'Space': {
        if (focus === 'input') this.typeIntoInput(' ');
        else if (focus === 'list') { if (view.list && view.list.selected < 0) this.selectListItem(0); }
        else if (focus) { const b = view.buttons.find((x) => x.id === focus); if (b?.enabled) this.press(b.id); }
        return;
      }
      case 'Backspace':
        if (focus === 'input') this.page.input = this.page.input.slice(0, -1);
        return;
      case 'Escape': {
        const back = view.buttons.find((b) => ['key-cancel', 'cancel', 'close', 'back'].includes(b.id) && b.enabled);
        if (back) this.press(back.id);
        else if (this.page.screen === 'entra-password') this.toEntraSignin(this.page.email ?? '');
        return;
      }
      default:
        if (char !== null && focus === 'input') this.typeIntoInput(char);
    }
  }

  private typeIntoInput(char: string): void {
    this.page.input += char;
  }

  private windowsKey(): void {
    if (!WIN_KEY_SCREENS.includes(this.current.screen) || this.step) return;
    this.winPresses = this.recentWinPresses();
    this.winPresses.push(this.clock.realNow());
    if (this.winPresses.length >= 5) {
      this.winPresses = [];
      this.openOptions();
    }
  }

  private recentWinPresses(): number[] {
    const now = this.clock.realNow();
    return this.winPresses.filter((t) => now - t <= WIN_KEY_WINDOW_MS);
  }

  private selectListItem(index: number): void {
    const list = this.current.list;
    if (!list || index < 0 || index >= list.items.length) return;
    if (this.page.screen === 'oobe-network' && index !== this.page.selected) {
      // Another network: its own controls, a fresh key box.
      this.page.keyOpen = false;
      this.page.input = '';
      this.page.error = undefined;
    }
    this.page.selected = index;
    this.page.focus = 'list';
  }

  private toEntraSignin(email: string): void {
    const organization = this.page.organization ?? null;
    this.show('entra-signin', { focus: 'input', organization, input: email });
  }

  private openDiagnostics(): void {
    this.show('provisioning-diagnostics', { focus: 'export', qrId: this.page.qrId });
  }

  /** A button was pressed (Enter, Space or a click). */
  private press(id: string): void {
    const p = this.page;
    const sel = p.selected;
    switch (`${p.screen}/${id}`) {
      case 'oobe-region/yes':
        this.choices.region = pages.REGIONS[Math.max(0, sel)];
        this.show('oobe-keyboard', { selected: 0, focus: 'list' });
        return;
      case 'oobe-keyboard/yes':
        this.choices.keyboard = pages.KEYBOARDS[Math.max(0, sel)];
        this.show('oobe-keyboard-second', { focus: 'skip' });
        return;
      case 'oobe-keyboard-second/skip':
        this.toNetwork();
        return;
      case 'oobe-keyboard-second/add-layout':
        this.show('keyboard-layout-picker', { selected: 0, focus: 'list' });
        return;
      case 'keyboard-layout-picker/cancel':
        this.show('oobe-keyboard-second', { focus: 'skip' });
        return;
      case 'keyboard-layout-picker/add':
        this.choices.secondKeyboard = pages.KEYBOARDS[Math.max(0, sel)];
        this.toNetwork();
        return;
      case 'oobe-network/connect': {
        const w = this.wifi[sel];
        if (!w) return;
        if (w.secured) {
          p.keyOpen = true;
          p.input = '';
          p.error = undefined;
          p.focus = 'input';
        } else this.connectWifi(sel, null);
        return;
      }
      case 'oobe-network/key-next': {
        const key = p.input;
        if (!key) return;
        this.connectWifi(sel, key);
        return;
      }
      case 'oobe-network/key-cancel':
        p.keyOpen = false;
        p.input = '';
        p.error = undefined;
        p.focus = 'list';
        return;
      case 'oobe-network/disconnect':
        this.connected = -1;
        p.focus = 'list';
        return;
      case 'oobe-network/no-internet':
        // Limited setup without a network: no Autopilot profile can be found, so consumer setup follows.
        this.runSteps([{ kind: 'busy', title: pages.BUSY.moment, seconds: this.scenario.timing.busy }], () =>
          this.show('oobe-consumer-setup', { selected: 0, focus: 'list' }));
        return;
      case 'oobe-network/next':
        if (this.networkReady()) this.afterNetwork();
        return;
      case 'oobe-eula/accept':
        this.eulaAccepted = true;
        this.afterNetwork();
        return;
      case 'oobe-eula/decline':
        // Declining the license terms shuts the PC down.
        this.powerOff();
        return;
      case 'entra-signin/next': {
        const email = p.input.trim();
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
          p.error = pages.MESSAGES.badEmail;
          return;
        }
        this.show('entra-password', { focus: 'input', organization: p.organization, email });
        return;
      }
      case 'entra-password/sign-in':
        p.error = pages.MESSAGES.badPassword;
        p.input = '';
        return;
      case 'provisioning-options/next':
      case 'provisioning-options/continue':
        if (sel === 0) {
          if (this.networkReady()) {
            this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: this.scenario.timing.wait }], () => this.showConfig());
          } else {
            this.configAfterNetwork = true;
            this.show('oobe-network', { focus: 'list' });
          }
        } else if (sel === 1) this.show('provisioning-package', { focus: 'back' });
        return;
      case 'provisioning-package/back':
        this.openOptions();
        return;
      case 'provisioning-config/refresh':
        this.refreshes++;
        this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: this.scenario.timing.wait }], () => this.showConfig());
        return;
      case 'provisioning-config/next':
      case 'provisioning-config/provision':
        this.provision();
        return;
      case 'esp/details':
        if (this.esp) this.esp.detailsHidden = !this.esp.detailsHidden;
        return;
      case 'provisioning-success/reseal':
        this.reseal();
        return;
      case 'provisioning-failure/retry':
        this.retry();
        return;
      case 'provisioning-failure/reset':
        this.resetDevice();
        return;
      case 'provisioning-failure/diagnostics':
        this.openDiagnostics();
        return;
      case 'provisioning-diagnostics/export':
        this.diagnosticsExported++;
        p.exported = true;
        return;
      case 'provisioning-diagnostics/close':
        this.show('provisioning-failure', { focus: 'retry', qrId: p.qrId });
        return;
      case 'oobe-consumer-setup/next':
        if (sel === 1) this.show('entra-signin', { focus: 'input', organization: null });
        else this.show('msa-signin', { focus: 'input' });
        return;
      case 'msa-signin/sign-in':
        p.error = p.input.includes('@') ? pages.MESSAGES.noMsa : pages.MESSAGES.badEmail;
        return;
    }
  }

  private connectWifi(index: number, key: string | null): void {
    const w = this.wifi[index];
    this.page.connecting = index;
    this.page.keyOpen = false;
    this.page.error = undefined;
    this.page.focus = 'list';
    const typed = key;
    this.page.input = '';
    this.pending?.cancel();
    this.pending = this.clock.after(this.scenario.timing.connect * 1000, () => {
      this.pending = null;
      this.page.connecting = undefined;
      const right = !w.secured || (w.key !== undefined && typed === w.key);
      if (right) {
        this.connected = index;
        this.page.focus = 'list';
      } else {
        this.page.keyOpen = true;
        this.page.error = pages.MESSAGES.wrongKey;
        this.page.focus = 'input';
      }
      this.commit();
    });
  }

  private retry(): void {
    const resumeAt = this.outcome?.resumeAt ?? 0;
    this.attempts++;
    if (!this.scenario.device.hasProfile) {
      this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: this.scenario.timing.wait }], () =>
        this.show('provisioning-failure', { focus: 'retry', qrId: randomUUID() }));
      return;
    }
    this.runSteps([{ kind: 'busy', title: pages.BUSY.wait, seconds: this.scenario.timing.wait }], () => this.startEsp(resumeAt));
  }

  /**
   * An unexpected restart (POST /device/reboot): black, the boot spinner, "Just a moment", then back where
   * setup was, as Windows comes back after a restart during setup. On the ESP its items pause while the PC
   * restarts and go on where they were (Device setup restarts the PC for apps and policies as a matter of
   * course). Off, or in the middle of a restart or a busy step already: nothing happens.
   */
  rebootUnexpectedly(): { screen: SimScreenId; rebooted: boolean } {
    const screen = this.current.screen;
    if (!this.poweredOn || this.step) return { screen, rebooted: false };
    const run = this.page.screen === 'esp' ? this.esp : null;
    const espElapsed = run ? this.clock.now() - run.startedAt : 0;
    const page = { ...this.page };
    this.runSteps([...this.rebootSteps(), { kind: 'busy', title: pages.BUSY.moment, seconds: this.scenario.timing.busy }], () => {
      this.page = page;
      if (run) {
        run.startedAt = this.clock.now() - espElapsed;
        this.espTick();
      }
    });
    return { screen, rebooted: true };
  }
}

/** The order Tab moves focus in: the list, the selected item's own controls, the page's input, the page's buttons. */
export function focusOrder(view: Omit<ScreenView, 'focus'>): string[] {
  const order: string[] = [];
  if (view.list && view.list.items.length) order.push('list');
  if (view.input?.inList) order.push('input');
  for (const b of view.buttons) if (b.inList && b.enabled) order.push(b.id);
  if (view.input && !view.input.inList) order.push('input');
  for (const b of view.buttons) if (!b.inList && b.enabled) order.push(b.id);
  return order;
}

/** What Enter presses when a list or an input has focus: the selected item's primary button, else the page's. */
function defaultButton(view: ScreenView, focus: 'list' | 'input'): string | null {
  const inList = view.buttons.find((b) => b.inList && b.primary);
  // In a network's key box, Enter is that box's Next (even while it is disabled), never the page's.
  if (focus === 'input' && view.input?.inList) return inList?.id ?? null;
  if (focus === 'list' && inList?.enabled) return inList.id;
  const pagePrimary = view.buttons.find((b) => !b.inList && b.primary);
  return pagePrimary?.id ?? null;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
