// The texts of every page the virtual device shows, per OS (sim/SCREEN-TEXTS.md is the contract), as
// ScreenView builders. Pure: device.ts keeps the state and passes what a page needs to show.
import type { ButtonView, Os, ScreenView } from './view.ts';

export const REGIONS = ['United States', 'Afghanistan', 'Åland Islands', 'Albania', 'Algeria', 'American Samoa', 'Andorra'];
export const KEYBOARDS = [
  'US', 'Canadian Multilingual Standard', 'English (India)', 'Irish', 'Scottish Gaelic', 'United Kingdom',
  'US English Table for IBM Arabic 238_L',
];

export const BUSY = {
  moment: 'Just a moment...',
  updates: 'Checking for updates',
  restart: 'Your PC will restart before you continue',
  wait: 'Please wait',
  ready: 'Getting ready',
} as const;

export const MESSAGES = {
  wrongKey: "The network security key isn't correct. Please try again.",
  badEmail: 'Enter a valid email address, phone number, or Skype name.',
  badPassword: "Your account or password is incorrect. If you don't remember your password, reset it now.",
  noMsa: "That Microsoft account doesn't exist. Enter a different account or get a new one.",
  logsExported: 'The logs were saved to the USB drive.',
};

export const WIFI_DETAIL = {
  secured: 'Secured',
  open: 'Open',
  connecting: 'Connecting...',
  connectedSecured: 'Connected, secured',
  connectedOpen: 'Connected',
  noInternetSecured: 'No internet, secured',
  noInternetOpen: 'No internet, open',
};

type Page = Omit<ScreenView, 'focus'>;

function btn(id: string, label: string, extra: Partial<ButtonView> = {}): ButtonView {
  return { id, label, enabled: true, ...extra };
}

export function blackView(os: Os): Page {
  return { screen: 'no-signal', os, style: 'black', buttons: [] };
}

export function spinnerView(os: Os): Page {
  return { screen: 'oobe-busy', os, style: 'spinner', buttons: [] };
}

export function busyView(os: Os, message: string): Page {
  return { screen: 'oobe-busy', os, style: 'busy', title: message, buttons: [] };
}

export function regionView(os: Os, selected: number): Page {
  return {
    screen: 'oobe-region', os, style: 'oobe',
    title: os === 'win11' ? 'Is this the right country or region?' : "Let's start with region. Is this right?",
    list: { items: REGIONS.map((label) => ({ label })), selected },
    buttons: [btn('yes', 'Yes', { primary: true })],
  };
}

export function keyboardView(os: Os, selected: number): Page {
  return {
    screen: 'oobe-keyboard', os, style: 'oobe',
    title: os === 'win11' ? 'Is this the right keyboard layout or input method?' : 'Is this the right keyboard layout?',
    paragraphs: os === 'win11' ? ['If you also use another keyboard layout, you can add that next.'] : undefined,
    list: { items: KEYBOARDS.map((label) => ({ label })), selected },
    buttons: [btn('yes', 'Yes', { primary: true })],
  };
}

export function secondKeyboardView(os: Os): Page {
  return {
    screen: 'oobe-keyboard-second', os, style: 'oobe',
    title: 'Want to add a second keyboard layout?',
    buttons: [btn('add-layout', 'Add layout', { link: true }), btn('skip', 'Skip', { primary: true })],
  };
}

export function layoutPickerView(os: Os, selected: number): Page {
  return {
    screen: 'keyboard-layout-picker', os, style: 'oobe',
    title: 'Select the keyboard layout you want to add',
    list: { items: KEYBOARDS.map((label) => ({ label })), selected },
    buttons: [btn('cancel', 'Cancel'), btn('add', 'Add layout', { primary: true })],
  };
}

export interface NetworkListEntry {
  label: string;
  detail: string;
}

export interface NetworkPageState {
  items: NetworkListEntry[];
  selected: number;
  /** The in-list controls of the selected item. */
  selectedControls: 'connect' | 'key' | 'connecting' | 'disconnect' | 'none';
  key: string;
  error?: string;
  /** Connected to a network with internet: the page's Next works. */
  canContinue: boolean;
}

export function networkView(os: Os, s: NetworkPageState): Page {
  const inList: ButtonView[] = [];
  let input: ScreenView['input'];
  if (s.selectedControls === 'connect') inList.push(btn('connect', 'Connect', { primary: true, inList: true }));
  if (s.selectedControls === 'key') {
    input = { label: 'Enter the network security key', value: s.key, masked: true, inList: true };
    inList.push(btn('key-next', 'Next', { primary: true, inList: true, enabled: s.key.length > 0 }), btn('key-cancel', 'Cancel', { inList: true }));
  }
  if (s.selectedControls === 'disconnect') inList.push(btn('disconnect', 'Disconnect', { inList: true }));
  return {
    screen: 'oobe-network', os, style: 'oobe',
    title: "Let's connect you to a network",
    paragraphs: ["You'll need an internet connection to continue setting up your device.", ...(s.items.length ? [] : ['No networks found.'])],
    list: s.items.length ? { items: s.items, selected: s.selected } : undefined,
    input,
    error: s.error,
    buttons: [
      ...inList,
      btn('no-internet', "I don't have internet", { link: true }),
      btn('next', 'Next', { primary: true, enabled: s.canContinue }),
    ],
  };
}

export function eulaView(os: Os): Page {
  return {
    screen: 'oobe-eula', os, style: 'oobe',
    title: 'Please review the License Agreement',
    paragraphs: [
      'MICROSOFT SOFTWARE LICENSE TERMS',
      'WINDOWS OPERATING SYSTEM',
      'These license terms are an agreement between you and Microsoft Corporation (or one of its affiliates).',
      'By accepting this agreement or using the software, you agree to all of these terms.',
    ],
    buttons: [btn('decline', 'Decline'), btn('accept', 'Accept', { primary: true })],
  };
}

export function entraSigninView(os: Os, organization: string | null, email: string, error?: string): Page {
  return {
    screen: 'entra-signin', os, style: 'oobe',
    brand: organization ?? undefined,
    title: organization ? `Welcome to ${organization}!` : "Let's set things up for your work or school",
    paragraphs: ['Sign in', "Can't access your account?"],
    input: { placeholder: 'someone@example.com', value: email, masked: false },
    error,
    buttons: [btn('next', 'Next', { primary: true })],
  };
}

export function entraPasswordView(os: Os, organization: string | null, email: string, password: string, error?: string): Page {
  return {
    screen: 'entra-password', os, style: 'oobe',
    brand: organization ?? undefined,
    title: 'Enter password',
    paragraphs: [email],
    input: { placeholder: 'Password', value: password, masked: true },
    error,
    buttons: [btn('sign-in', 'Sign in', { primary: true })],
  };
}

export function optionsView(os: Os, selected: number, withPackage: boolean): Page {
  const items = [os === 'win11' ? 'Pre-provision with Windows Autopilot' : 'Windows Autopilot provisioning'];
  if (withPackage) items.push('Install provisioning package');
  return {
    screen: 'provisioning-options', os, style: 'oobe',
    title: 'What would you like to do?',
    list: { items: items.map((label) => ({ label })), selected },
    buttons: [os === 'win11'
      ? btn('next', 'Next', { primary: true, enabled: selected >= 0 })
      : btn('continue', 'Continue', { primary: true, enabled: selected >= 0 })],
  };
}

export function packageView(os: Os): Page {
  return {
    screen: 'provisioning-package', os, style: 'oobe',
    title: 'Provision this device',
    paragraphs: ['Choose a provisioning package'],
    buttons: [btn('back', 'Back')],
  };
}

export interface Details {
  organization: string;
  profile: string;
  user: string;
}

function detailLines(d: Details): { label: string; value: string }[] {
  return [
    { label: 'Organization', value: d.organization },
    { label: 'Profile', value: d.profile },
    { label: 'Assigned user', value: d.user || 'None' },
  ];
}

export function configView(os: Os, d: Details, qr: string): Page {
  return {
    screen: 'provisioning-config', os, style: 'oobe',
    title: os === 'win11' ? 'Pre-provision with Windows Autopilot' : 'Windows Autopilot Configuration',
    paragraphs: os === 'win11' ? ['Make sure the following details are correct, then select Next.'] : undefined,
    details: detailLines(d),
    qr,
    buttons: [btn('refresh', 'Refresh'), os === 'win11' ? btn('next', 'Next', { primary: true }) : btn('provision', 'Provision', { primary: true })],
  };
}

export function espView(os: Os, esp: NonNullable<ScreenView['esp']>, detailsHidden: boolean): Page {
  return {
    screen: 'esp', os, style: 'oobe',
    title: 'Setting up your device for work',
    paragraphs: ['This could take a while. Your device may restart several times.'],
    esp,
    buttons: os === 'win10' ? [btn('details', detailsHidden ? 'Show details' : 'Hide details', { link: true })] : [],
  };
}

export function successView(os: Os, d: Details, elapsed: string, qr: string): Page {
  return {
    screen: 'provisioning-success', os, style: 'success',
    title: 'Pre-provisioning succeeded',
    paragraphs: ['This device is ready. Select Reseal to shut it down.'],
    details: [...detailLines(d), { label: 'Elapsed time', value: elapsed }],
    qr: os === 'win10' ? qr : undefined,
    buttons: [btn('reseal', 'Reseal', { primary: true })],
  };
}

export function failureView(os: Os, d: Details, elapsed: string, code: string | null, qr: string): Page {
  const details = [...detailLines(d), { label: 'Elapsed time', value: elapsed }];
  if (code) details.push({ label: 'Error code', value: code });
  return {
    screen: 'provisioning-failure', os, style: 'failure',
    title: 'Pre-provisioning failed',
    paragraphs: [
      code ? `Something went wrong. Error code: ${code}` : 'Something went wrong.',
      ...(os === 'win11' ? ['Press Ctrl+Shift+D to collect diagnostics.'] : []),
    ],
    details,
    qr: os === 'win10' ? qr : undefined,
    buttons: [
      ...(os === 'win10' ? [btn('diagnostics', 'View diagnostics')] : []),
      btn('reset', 'Reset'),
      btn('retry', 'Retry', { primary: true }),
    ],
  };
}

export function diagnosticsView(os: Os, exported: boolean): Page {
  return {
    screen: 'provisioning-diagnostics', os, style: 'oobe',
    title: 'Diagnostics',
    paragraphs: ['Collect logs to help find the cause of the problem.', ...(exported ? [MESSAGES.logsExported] : [])],
    buttons: [btn('export', 'Export logs', { primary: true }), btn('close', 'Close')],
  };
}

export const CONSUMER_CHOICES = {
  win11: ['Set up for personal use', 'Set up for work or school'],
  win10: ['Set up for personal use', 'Set up for an organization'],
} as const;

export function consumerSetupView(os: Os, selected: number): Page {
  return {
    screen: 'oobe-consumer-setup', os, style: 'oobe',
    title: os === 'win11' ? 'How would you like to set up this device?' : 'How would you like to set up?',
    list: { items: CONSUMER_CHOICES[os].map((label) => ({ label })), selected },
    buttons: [btn('next', 'Next', { primary: true })],
  };
}

export function msaSigninView(os: Os, email: string, error?: string): Page {
  return {
    screen: 'msa-signin', os, style: 'oobe',
    title: 'Unlock your Microsoft experience',
    paragraphs: ['Sign in with your Microsoft account to access your apps, files and services across devices.'],
    input: { placeholder: 'Email, phone, or Skype', value: email, masked: false },
    error,
    buttons: [btn('sign-in', 'Sign in', { primary: true })],
  };
}

/** The Windows sign-in screen of a device whose setup already finished. */
export function windowsLoginView(os: Os, user: string): Page {
  return {
    screen: 'windows-login', os, style: 'oobe',
    title: user,
    input: { placeholder: 'Password', value: '', masked: true },
    paragraphs: ['I forgot my password'],
    buttons: [btn('sign-in-options', 'Sign-in options', { link: true })],
  };
}

/** The QR text of the configuration (and Windows 10 result) screens: reference/screens.md, "The QR code". */
export function qrPayload(format: 'flat' | 'block-sequence', id: string, ztdId: string, serial: string): string {
  if (format === 'block-sequence') {
    return JSON.stringify({
      BlockSequence: { Id: id, ZtdId: ztdId, PKID: '', SerialNumber: serial, HardwareId: '', SequenceBlockNumber: 1, TotalBlocks: 1 },
    });
  }
  return JSON.stringify({ Version: '1.0.0', Id: id, ZtdId: ztdId, PKID: '', SerialNumber: serial, SequenceBlockNumber: 1, TotalBlocks: 1 });
}
