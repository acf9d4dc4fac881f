// What the virtual device shows, as data: the state machine (device.ts) builds a ScreenView, the renderer
// (render/) lays it out and paints it, and the layout answers where a pointer click lands.

export type Os = 'win10' | 'win11';

/** Screen ids of reference/screens.md, plus the sim-only panels that real Windows also has but the catalog does not name. */
export type SimScreenId =
  | 'no-signal' | 'oobe-busy' | 'oobe-region' | 'oobe-keyboard' | 'oobe-keyboard-second' | 'oobe-network'
  | 'oobe-eula' | 'entra-signin' | 'provisioning-options' | 'provisioning-config' | 'esp'
  | 'provisioning-success' | 'provisioning-failure' | 'oobe-consumer-setup' | 'msa-signin' | 'oobe-device-name'
  | 'oobe-privacy' | 'windows-login'
  // sim-only panels (recognized as `unknown` by the agent, on purpose):
  | 'entra-password' | 'provisioning-package' | 'provisioning-diagnostics' | 'keyboard-layout-picker';

/** How the whole frame looks. */
export type FrameStyle =
  | 'black'     // nothing (powered off, rebooting): all black
  | 'spinner'   // black with a spinner (boot / reboot), no text
  | 'busy'      // OOBE transient message (Win11: dark gradient, light text; Win10: dark blue) with a spinner
  | 'oobe'      // a setup page (Win11: light card on a soft gradient; Win10: full-screen dark blue)
  | 'success'   // green result screen
  | 'failure';  // red result screen

export interface ListItemView {
  label: string;
  /** Second line under the label, e.g. "Secured" or "Connected, secured" for a network. */
  detail?: string;
}

export interface ButtonView {
  /** Stable id the device uses (e.g. 'yes', 'next', 'reseal'); never shown. */
  id: string;
  label: string;
  enabled: boolean;
  /** Filled accent button (Yes/Next/Provision); otherwise a plain button. */
  primary?: boolean;
  /** Shown as a text link rather than a button (e.g. "Add layout", "I don't have internet"). */
  link?: boolean;
  /** Drawn inside the selected list item instead of the page footer (e.g. a network's "Connect"). */
  inList?: boolean;
}

export interface InputView {
  /** Text shown above the box, e.g. "Enter the network security key". */
  label?: string;
  /** Grey text inside an empty box, e.g. "someone@example.com". */
  placeholder?: string;
  /** What was typed; shown as dots when masked. */
  value: string;
  masked: boolean;
  /** Drawn inside the selected list item (Wi-Fi key) instead of the page body (sign-in e-mail). */
  inList?: boolean;
}

export interface EspItemView { name: string; state: string }
export interface EspPhaseView { name: string; state: string; expanded: boolean; items: EspItemView[] }

export interface ScreenView {
  screen: SimScreenId;
  os: Os;
  style: FrameStyle;
  /** Large heading text of the page (or the message of a busy screen). */
  title?: string;
  /** Smaller text lines under the title. */
  paragraphs?: string[];
  /** Organization branding above the title (sign-in page). */
  brand?: string;
  list?: { items: ListItemView[]; selected: number };
  input?: InputView;
  /** Red inline error under the input or list (e.g. a wrong Wi-Fi key). */
  error?: string;
  /** Label/value lines: Organization, Profile, Assigned user, Elapsed time, Error code... */
  details?: { label: string; value: string }[];
  /** Text to encode as a QR code drawn on the page. */
  qr?: string;
  esp?: { phases: EspPhaseView[] };
  buttons: ButtonView[];
  /** What has keyboard focus: 'list', 'input', a button id, or null. Drawn as a focus rectangle. */
  focus: string | null;
}

export interface Rect { x: number; y: number; width: number; height: number }

/** Something a pointer can press, in frame pixels. */
export type HitTarget =
  | { kind: 'button'; id: string }
  | { kind: 'list-item'; index: number }
  | { kind: 'input' };

export interface Layout {
  width: number;
  height: number;
  targets: { target: HitTarget; rect: Rect }[];
}

/** The first target whose rectangle contains the point (frame pixels), or null. */
export function hitTest(layout: Layout, x: number, y: number): HitTarget | null {
  for (const { target, rect } of layout.targets) {
    if (x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height) return target;
  }
  return null;
}
