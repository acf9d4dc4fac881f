// The virtual device's setup state machine, driven only through its HID input (keys by W3C code, pointer
// clicks on the renderer's layout), on a clock that moves when the test says so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../sim/clock.ts';
import { VirtualDevice } from '../sim/device.ts';
import { layoutScreen } from '../sim/render/layout.ts';
import { resolveScenario } from '../sim/scenario.ts';
import { keyForChar } from '../sim/typing.ts';
import { hitTest, type HitTarget, type ScreenView, type SimScreenId } from '../sim/view.ts';

const TRANSIENT: SimScreenId[] = ['no-signal', 'oobe-busy'];

function setup(name: string, opts: { withLayout?: boolean } = {}) {
  const scenario = resolveScenario(name);
  return setupWith(scenario, opts);
}

function setupWith(scenario: ReturnType<typeof resolveScenario>, opts: { withLayout?: boolean } = {}) {
  const clock = new ManualClock(scenario.speed);
  const W = 1280, H = 720;
  const device = new VirtualDevice({
    scenario,
    clock,
    hitTest: opts.withLayout ? (view, x, y) => hitTest(layoutScreen(view, W, H), x * W, y * H) : undefined,
  });
  const screen = () => device.state().screen;
  /** Lets time pass (real ms, 100 at a time) until an interactive page shows (or `want` does). */
  const waitFor = (want?: SimScreenId, maxRealMs = 120_000) => {
    for (let t = 0; t < maxRealMs; t += 100) {
      if (want ? screen() === want : !TRANSIENT.includes(screen())) return screen();
      clock.advance(100);
    }
    throw new Error(`still on ${screen()} after ${maxRealMs} ms, waiting for ${want ?? 'a page'}`);
  };
  const tap = (...chord: string[]) => {
    for (const k of chord) device.keyDown(k);
    for (const k of [...chord].reverse()) device.keyUp(k);
    clock.advance(30);
  };
  const type = (text: string) => {
    for (const ch of text) {
      const k = keyForChar(ch);
      if (!k) throw new Error(`cannot type ${ch}`);
      if (k.shift) tap('ShiftLeft', k.code);
      else tap(k.code);
    }
  };
  const click = (find: (view: ScreenView) => HitTarget) => {
    const target = find(device.view());
    const layout = layoutScreen(device.view(), W, H);
    const hit = layout.targets.find((t) => JSON.stringify(t.target) === JSON.stringify(target));
    if (!hit) throw new Error(`no target ${JSON.stringify(target)} on ${screen()}`);
    device.pointerMove((hit.rect.x + hit.rect.width / 2) / W, (hit.rect.y + hit.rect.height / 2) / H);
    device.pointerButton('left', true);
    device.pointerButton('left', false);
    clock.advance(30);
  };
  const winKey = (times: number, gapMs: number) => {
    for (let i = 0; i < times; i++) {
      tap('MetaLeft');
      clock.advance(gapMs);
    }
  };
  return { device, clock, screen, waitFor, tap, type, click, winKey, scenario };
}

type Sim = ReturnType<typeof setup>;

/** Region, keyboard, second keyboard and Wi-Fi (LabNet, second in the list) by keys; ends on the sign-in page. */
function throughNetworkByKeys(s: Sim, then: SimScreenId = 'entra-signin'): void {
  expect(s.waitFor()).toBe('oobe-region');
  expect(s.device.view().list?.items[s.device.view().list!.selected].label).toBe('United States');
  s.tap('Enter');
  expect(s.screen()).toBe('oobe-keyboard');
  s.tap('Enter');
  expect(s.screen()).toBe('oobe-keyboard-second');
  expect(s.device.view().focus).toBe('skip');
  s.tap('Enter');
  expect(s.screen()).toBe('oobe-network');
  s.tap('ArrowDown');
  s.tap('ArrowDown');
  const view = s.device.view();
  expect(view.list!.items[view.list!.selected].label).toBe('LabNet');
  s.tap('Enter'); // the selected network's Connect
  expect(s.device.view().focus).toBe('input');
  s.type('autopilot-lab-2026');
  s.tap('Enter');
  s.clock.advance(1000);
  const connected = s.device.view();
  expect(connected.list!.items[1].detail).toBe('Connected, secured');
  expect(connected.buttons.find((b) => b.id === 'next')!.enabled).toBe(true);
  s.tap('Enter'); // focus is back on the list: Enter presses the page's Next
  expect(s.waitFor()).toBe(then);
}

describe('virtual device: Windows 11 setup by keys', () => {
  it('goes from power-on to a resealed, powered-off device', () => {
    const s = setup('win11');
    expect(s.screen()).toBe('no-signal');
    expect(s.device.keyboardOnline).toBe(false);
    throughNetworkByKeys(s);
    const signin = s.device.view();
    expect(signin.title).toBe('Welcome to Contoso!');
    expect(signin.focus).toBe('input');
    expect(s.device.state().history.map((h) => h.screen)).toContain('oobe-busy');

    s.winKey(5, 200);
    expect(s.screen()).toBe('provisioning-options');
    expect(s.device.view().list!.selected).toBe(-1);
    expect(s.device.view().buttons[0]).toMatchObject({ id: 'next', enabled: false });
    s.tap('ArrowDown');
    expect(s.device.view().list!.items[0].label).toBe('Pre-provision with Windows Autopilot');
    s.tap('Enter');
    expect(s.waitFor()).toBe('provisioning-config');

    const config = s.device.view();
    expect(config.details).toEqual([
      { label: 'Organization', value: 'Contoso' },
      { label: 'Profile', value: 'Lab pre-provisioning' },
      { label: 'Assigned user', value: 'None' },
    ]);
    const qr = JSON.parse(config.qr!);
    expect(qr).toMatchObject({ Version: '1.0.0', ZtdId: s.scenario.device.ztdId, SerialNumber: 'PF3X9K2L', PKID: '', TotalBlocks: 1 });
    expect(config.focus).toBe('next');
    s.tap('Enter');
    expect(s.waitFor('esp', 600_000)).toBe('esp');
    const esp = s.device.view().esp!;
    expect(esp.phases.map((p) => p.name)).toEqual(['Device preparation', 'Device setup', 'Account setup']);
    expect(esp.phases[0]).toMatchObject({ state: 'Working on it...', expanded: true });
    expect(esp.phases[0].items[0]).toEqual({ name: 'Securing your hardware', state: 'Working on it...' });

    // 40 simulated minutes at speed 60: 40 real seconds.
    expect(s.waitFor('provisioning-success', 120_000)).toBe('provisioning-success');
    const success = s.device.view();
    const elapsed = success.details!.find((d) => d.label === 'Elapsed time')!.value;
    expect(elapsed).toMatch(/^0:4[0-9]:[0-5][0-9]$/);
    const log = s.device.state().espLog;
    expect(log.filter((e) => e.state === 'Complete').map((e) => e.item)).toEqual([
      'Securing your hardware', "Joining your organization's network", 'Registering your device for mobile management',
      'Preparing your device for mobile management', 'Security policies', 'Certificates', 'Network connections', 'Apps',
    ]);
    expect(log.some((e) => e.item === 'Apps' && e.state === '(2 of 5 installed)')).toBe(true);

    expect(success.focus).toBe('reseal');
    s.tap('Enter');
    const off = s.device.state();
    expect(off).toMatchObject({ screen: 'no-signal', resealed: true, poweredOn: false, keyboardOnline: false });
    s.tap('Enter');
    s.clock.advance(60_000);
    expect(s.screen()).toBe('no-signal');
    expect(s.device.state().hid.at(-1)).toMatchObject({ type: 'key', code: 'Enter', down: false, offline: true });
    expect(s.device.state().attempts).toBe(1);
  });

  it('refuses a wrong Wi-Fi key, clears the box, and connects with the right one', () => {
    const s = setup('win11');
    s.waitFor();
    s.tap('Enter');
    s.tap('Enter');
    s.tap('Enter');
    s.tap('ArrowDown');
    s.tap('ArrowDown');
    s.tap('Enter');
    s.type('autopilot-lab-2025');
    expect(s.device.view().input).toMatchObject({ value: 'autopilot-lab-2025', masked: true, inList: true });
    s.tap('Enter');
    s.clock.advance(1000);
    let view = s.device.view();
    expect(view.error).toBe("The network security key isn't correct. Please try again.");
    expect(view.input!.value).toBe('');
    expect(view.focus).toBe('input');
    expect(view.buttons.find((b) => b.id === 'next')!.enabled).toBe(false);
    s.type('autopilot-lab-2026');
    s.tap('Enter');
    s.clock.advance(1000);
    view = s.device.view();
    expect(view.error).toBeUndefined();
    expect(view.list!.items[1].detail).toBe('Connected, secured');
    expect(s.device.state().network).toBe('LabNet');
    // Everything typed is on record, the wrong key too.
    expect(s.device.state().typed).toBe('autopilot-lab-2025autopilot-lab-2026');
  });

  it('opens the options only for five Windows-key presses within five seconds', () => {
    const s = setup('win11');
    throughNetworkByKeys(s);
    s.winKey(5, 1500); // 6 seconds for five presses: not a gesture
    expect(s.screen()).toBe('entra-signin');
    expect(s.device.state().winKeyPresses).toBeLessThan(5);
    s.clock.advance(6000);
    s.winKey(5, 900); // 3.6 seconds
    expect(s.screen()).toBe('provisioning-options');
  });

  it('also takes the five presses on the region page, then asks for the network before the configuration', () => {
    const s = setup('win11');
    expect(s.waitFor()).toBe('oobe-region');
    s.winKey(5, 100);
    expect(s.screen()).toBe('provisioning-options');
    s.tap('ArrowDown');
    s.tap('Enter');
    expect(s.screen()).toBe('oobe-network');
    s.tap('ArrowDown');
    s.tap('ArrowDown');
    s.tap('Enter');
    s.type('autopilot-lab-2026');
    s.tap('Enter');
    s.clock.advance(1000);
    s.tap('Enter');
    expect(s.waitFor()).toBe('provisioning-config');
  });

  it('goes where Windows goes on wrong choices: provisioning package, Entra sign-in, no internet', () => {
    const s = setup('win11');
    throughNetworkByKeys(s);
    s.type('tech@contoso.com');
    s.tap('Enter');
    expect(s.screen()).toBe('entra-password');
    s.winKey(5, 100); // too late for the gesture
    expect(s.screen()).toBe('entra-password');
    s.type('hunter2');
    s.tap('Enter');
    expect(s.device.view().error).toMatch(/incorrect/);
    s.tap('Escape');
    expect(s.screen()).toBe('entra-signin');
    s.winKey(5, 100);
    s.tap('ArrowDown');
    s.tap('ArrowDown');
    expect(s.device.view().list!.items[1].label).toBe('Install provisioning package');
    s.tap('Enter');
    expect(s.screen()).toBe('provisioning-package');
    s.tap('Enter'); // Back
    expect(s.screen()).toBe('provisioning-options');

    const t = setup('win11');
    t.waitFor();
    t.tap('Enter');
    t.tap('Enter');
    t.tap('Enter');
    // Tab from the list: Next is disabled, so focus goes to "I don't have internet".
    t.tap('Tab');
    expect(t.device.view().focus).toBe('no-internet');
    t.tap('Enter');
    expect(t.waitFor()).toBe('oobe-consumer-setup');
  });

  it('moves focus with Tab and Shift+Tab over the enabled controls', () => {
    const s = setup('win11');
    throughNetworkByKeys(s);
    s.winKey(5, 100);
    s.tap('ArrowDown');
    s.tap('Enter');
    s.waitFor();
    expect(s.device.view().focus).toBe('next');
    s.tap('ShiftLeft', 'Tab');
    expect(s.device.view().focus).toBe('refresh');
    s.tap('Tab');
    expect(s.device.view().focus).toBe('next');
    s.tap('ShiftLeft', 'Tab');
    const firstQr = s.device.view().qr;
    s.tap('Space'); // Refresh downloads the profile again: a new random Id, the same device
    expect(s.waitFor()).toBe('provisioning-config');
    const qr = JSON.parse(s.device.view().qr!);
    expect(s.device.view().qr).not.toBe(firstQr);
    expect(qr.ZtdId).toBe(s.scenario.device.ztdId);
  });

  it('lights Caps Lock only while the keyboard is online', () => {
    const s = setup('win11');
    s.tap('CapsLock');
    expect(s.device.getLeds().capsLock).toBe(false); // still booting
    s.waitFor();
    s.tap('CapsLock');
    expect(s.device.state().capsLock).toBe(true);
    expect(s.device.state().typed).toBe('');
    s.tap('KeyA');
    s.tap('ShiftLeft', 'KeyA');
    expect(s.device.state().typed).toBe('Aa');
    // A USB boot report: Shift held with the usage of "1" types "!".
    s.device.keyboardReport(0x02, [0x1e]);
    s.device.keyboardReport(0, []);
    expect(s.device.state().typed).toBe('Aa!');
  });

  it('shows the license page when the scenario asks for it; a scenario file can extend a built-in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-eula-'));
    const file = join(dir, 'eula.yaml');
    writeFileSync(file, 'extends: win11-wired\nscreens:\n  eula: true\n  rebootAfterNetwork: false\nspeed: 120\n');
    const s = setupWith(resolveScenario(file));
    expect(s.scenario).toMatchObject({ name: 'eula', os: 'win11', speed: 120, network: { kind: 'wired' } });
    expect(s.waitFor()).toBe('oobe-eula');
    expect(s.device.view().focus).toBe('accept');
    s.tap('Enter');
    expect(s.waitFor()).toBe('entra-signin');
    expect(s.device.state().history.filter((h) => h.screen === 'no-signal')).toHaveLength(1); // no reboot

    const t = setupWith(resolveScenario(file));
    t.waitFor();
    t.tap('ShiftLeft', 'Tab');
    expect(t.device.view().focus).toBe('decline');
    t.tap('Enter'); // declining the license shuts the PC down
    expect(t.device.state()).toMatchObject({ screen: 'no-signal', poweredOn: false, resealed: false });
  });

  it('presses buttons and selects list items under the pointer', () => {
    const s = setup('win11', { withLayout: true });
    s.waitFor();
    s.click(() => ({ kind: 'list-item', index: 2 }));
    expect(s.device.view().list!.selected).toBe(2);
    s.click(() => ({ kind: 'button', id: 'yes' }));
    expect(s.screen()).toBe('oobe-keyboard');
    expect(s.device.state().choices.region).toBe('Åland Islands');
    s.click(() => ({ kind: 'button', id: 'yes' }));
    s.click(() => ({ kind: 'button', id: 'skip' }));
    expect(s.screen()).toBe('oobe-network');
    s.click(() => ({ kind: 'list-item', index: 1 }));
    s.click(() => ({ kind: 'button', id: 'connect' }));
    expect(s.device.view().focus).toBe('input');
    s.type('autopilot-lab-2026');
    s.click(() => ({ kind: 'button', id: 'key-next' }));
    s.clock.advance(1000);
    s.click(() => ({ kind: 'button', id: 'next' }));
    expect(s.waitFor()).toBe('entra-signin');
    const events = s.device.state().hid.filter((e) => e.type === 'button');
    expect(events.slice(0, 2)).toMatchObject([{ button: 'left', down: true }, { button: 'left', down: false }]);
  });
});

describe('virtual device: failures, retry, reset, other scenarios', () => {
  /** From power-on to the end of the ESP by keys. */
  function provision(s: Sim, os: 'win11' | 'win10' = 'win11'): void {
    if (s.scenario.network.kind === 'wifi') throughNetworkByKeys(s);
    else expect(s.waitFor()).toBe('entra-signin');
    s.winKey(5, 100);
    s.tap('ArrowDown');
    s.tap('Enter');
    expect(s.waitFor()).toBe('provisioning-config');
    expect(s.device.view().focus).toBe(os === 'win11' ? 'next' : 'provision');
    s.tap('Enter');
    s.waitFor('esp', 600_000);
  }

  it('esp-failure: red screen with 0x800705B4, diagnostics by Ctrl+Shift+D, Retry fails again, Reset starts over', () => {
    const s = setup('esp-failure');
    provision(s);
    // The failure comes 90 simulated seconds into the first item (1.5 s at speed 60); the ESP then shows it.
    for (let i = 0; i < 40 && s.device.view().esp?.phases[0].state !== 'Error'; i++) s.clock.advance(50);
    const esp = s.device.view().esp!;
    expect(esp.phases[0].state).toBe('Error');
    expect(esp.phases[0].items[0]).toEqual({ name: 'Securing your hardware', state: 'Error' });
    expect(s.waitFor('provisioning-failure')).toBe('provisioning-failure');
    const failure = s.device.view();
    expect(failure.paragraphs![0]).toBe('Something went wrong. Error code: 0x800705B4');
    expect(failure.details!.find((d) => d.label === 'Error code')!.value).toBe('0x800705B4');
    expect(failure.focus).toBe('retry');
    s.tap('ControlLeft', 'ShiftLeft', 'KeyD');
    expect(s.screen()).toBe('provisioning-diagnostics');
    s.tap('Enter'); // Export logs
    expect(s.device.state().diagnosticsExported).toBe(1);
    s.tap('Tab');
    s.tap('Enter'); // Close
    expect(s.screen()).toBe('provisioning-failure');
    s.tap('Enter'); // Retry
    expect(s.waitFor('provisioning-failure', 600_000)).toBe('provisioning-failure');
    expect(s.device.state().attempts).toBe(2);
    s.tap('ShiftLeft', 'Tab'); // Reset
    expect(s.device.view().focus).toBe('reset');
    s.tap('Enter');
    expect(s.waitFor()).toBe('oobe-region');
    expect(s.device.state()).toMatchObject({ attempts: 2, network: null });
  });

  it('retry-success: the first attempt fails, Retry resumes and succeeds', () => {
    const s = setup('retry-success');
    provision(s);
    expect(s.waitFor('provisioning-failure', 600_000)).toBe('provisioning-failure');
    s.tap('Enter');
    expect(s.waitFor('provisioning-success', 600_000)).toBe('provisioning-success');
    const log = s.device.state().espLog;
    const attempt2 = log.filter((e) => e.attempt === 2 && e.state === 'Working on it...').map((e) => e.item);
    expect(attempt2[0]).toBe('Registering your device for mobile management');
    expect(s.device.state().attempts).toBe(2);
  });

  it('no-profile: consumer setup after the network', () => {
    const s = setup('no-profile');
    throughNetworkByKeys(s, 'oobe-consumer-setup');
    expect(s.device.view().list!.items.map((i) => i.label)).toEqual(['Set up for personal use', 'Set up for work or school']);
    s.winKey(5, 100); // not a page that takes the gesture
    expect(s.screen()).toBe('oobe-consumer-setup');
    s.tap('Enter');
    expect(s.screen()).toBe('msa-signin');
  });

  it('win10-wired: straight to sign-in; Continue, Provision, View diagnostics are Windows 10', () => {
    const s = setup('win10-wired');
    expect(s.waitFor()).toBe('entra-signin');
    expect(s.device.state().history.map((h) => h.screen)).not.toContain('oobe-region');
    s.winKey(5, 100);
    expect(s.device.view().list!.items[0].label).toBe('Windows Autopilot provisioning');
    s.tap('ArrowDown');
    expect(s.device.view().buttons[0]).toMatchObject({ id: 'continue', label: 'Continue', enabled: true });
    s.tap('Enter');
    expect(s.waitFor()).toBe('provisioning-config');
    expect(s.device.view().title).toBe('Windows Autopilot Configuration');
    expect(JSON.parse(s.device.view().qr!).BlockSequence.SerialNumber).toBe('PF3X9K2L');
    s.tap('Enter');
    s.waitFor('esp', 600_000);
    expect(s.device.view().buttons[0]).toMatchObject({ id: 'details', label: 'Hide details' });
    s.waitFor('provisioning-success', 120_000);
    expect(JSON.parse(s.device.view().qr!).BlockSequence.ZtdId).toBe(s.scenario.device.ztdId);
  });
});
