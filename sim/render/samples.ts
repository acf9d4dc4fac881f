// One realistic ScreenView per screen of SCREEN-TEXTS.md, for Windows 11 and Windows 10, plus the states that
// matter to a run (Wi-Fi key entry, wrong key, connected; ESP in progress and failed; options selected...).
// The vision helper renders them to check that OCR classifies sim frames; dump-samples.ts writes them out.

import type { ButtonView, EspPhaseView, Os, ScreenView } from '../view.ts';

/** The payload of the sample configuration pages' QR code (shape 1 of reference/screens.md). */
export const SAMPLE_QR_PAYLOAD = JSON.stringify({
  Version: '1.0.0',
  Id: '3f2b8c1e-9a4d-4e6b-8f21-7c5d0e9a1b23',
  ZtdId: '6f1d0b3e-2c4a-4d8e-9b7f-1a2b3c4d5e6f',
  PKID: '',
  SerialNumber: 'PF3X9K2L',
  SequenceBlockNumber: 1,
  TotalBlocks: 1,
});

/** The Wi-Fi key typed in the key-entry samples (drawn masked: it must never be readable in the frame). */
export const SAMPLE_WIFI_KEY = 'Tr0ub4dor&3xK';

const ORG = 'Contoso';
const PROFILE = 'Contoso Kiosk Pre-provisioning';

function btn(id: string, label: string, more: Partial<ButtonView> = {}): ButtonView {
  return { id, label, enabled: true, ...more };
}

const COUNTRIES = ['United States', 'Afghanistan', 'Åland Islands', 'Albania', 'Algeria', 'American Samoa', 'Andorra'];
const KEYBOARDS = ['US', 'Canadian Multilingual Standard', 'English (India)', 'Irish', 'Scottish Gaelic', 'United Kingdom', 'US English Table for IBM Arabic 238_L'];
const NETWORKS = [
  { label: 'CONTOSO-LAB', detail: 'Secured' },
  { label: 'Contoso-Guest', detail: 'Open' },
  { label: 'Fabrikam 5G', detail: 'Secured' },
];

function page(os: Os, screen: ScreenView['screen'], rest: Partial<ScreenView>): ScreenView {
  return { screen, os, style: 'oobe', buttons: [], focus: null, ...rest };
}

function network(os: Os, state: 'connect' | 'key' | 'wrong-key' | 'connected'): ScreenView {
  const items = NETWORKS.map((n, i) => (i === 0 && state === 'connected' ? { ...n, detail: 'Connected, secured' } : n));
  const inList: ButtonView[] =
    state === 'connect' ? [btn('connect', 'Connect', { primary: true, inList: true })]
    : state === 'connected' ? []
    : [btn('key-next', 'Next', { primary: true, inList: true, enabled: state === 'key' }), btn('key-cancel', 'Cancel', { inList: true })];
  return page(os, 'oobe-network', {
    title: "Let's connect you to a network",
    paragraphs: ["You'll need an internet connection to continue setting up your device."],
    list: { items, selected: 0 },
    input: state === 'key' || state === 'wrong-key'
      ? { label: 'Enter the network security key', value: state === 'key' ? SAMPLE_WIFI_KEY : '', masked: true, inList: true }
      : undefined,
    error: state === 'wrong-key' ? "The network security key isn't correct. Please try again." : undefined,
    buttons: [
      ...inList,
      btn('no-internet', "I don't have internet", { link: true }),
      btn('next', 'Next', { primary: true, enabled: state === 'connected' }),
    ],
    focus: state === 'connect' ? 'connect' : state === 'connected' ? 'next' : 'input',
  });
}

const DETAILS = (user: string) => [
  { label: 'Organization', value: ORG },
  { label: 'Profile', value: PROFILE },
  { label: 'Assigned user', value: user },
];

function espPhases(stage: 'preparation' | 'setup' | 'error'): EspPhaseView[] {
  const prep: EspPhaseView = {
    name: 'Device preparation', state: stage === 'preparation' ? 'Working on it...' : 'Complete', expanded: stage === 'preparation',
    items: [
      { name: 'Securing your hardware', state: 'Complete' },
      { name: "Joining your organization's network", state: 'Complete' },
      { name: 'Registering your device for mobile management', state: 'Working on it...' },
      { name: 'Preparing your device for mobile management', state: 'Waiting...' },
    ],
  };
  const setup: EspPhaseView = {
    name: 'Device setup',
    state: stage === 'preparation' ? 'Waiting...' : stage === 'setup' ? 'Working on it...' : 'Error',
    expanded: stage !== 'preparation',
    items: [
      { name: 'Security policies', state: 'Complete' },
      { name: 'Certificates', state: 'Complete' },
      { name: 'Network connections', state: 'Complete' },
      { name: 'Apps', state: stage === 'error' ? 'Error' : '(1 of 3 installed)' },
    ],
  };
  return [prep, setup, { name: 'Account setup', state: 'Not started', expanded: false, items: [] }];
}

function samplesFor(os: Os): { name: string; view: ScreenView }[] {
  const w11 = os === 'win11';
  const out: { name: string; view: ScreenView }[] = [];
  const add = (name: string, view: ScreenView) => out.push({ name: `${os}-${name}`, view });

  add('no-signal', { screen: 'no-signal', os, style: 'black', buttons: [], focus: null });
  add('boot-spinner', { screen: 'oobe-busy', os, style: 'spinner', buttons: [], focus: null });
  add('oobe-busy', { screen: 'oobe-busy', os, style: 'busy', title: 'Just a moment...', buttons: [], focus: null });
  add('oobe-busy-2', {
    screen: 'oobe-busy', os, style: 'busy', title: w11 ? 'Checking for updates' : 'Getting ready', buttons: [], focus: null,
  });
  add('oobe-region', page(os, 'oobe-region', {
    title: w11 ? 'Is this the right country or region?' : "Let's start with region. Is this right?",
    list: { items: COUNTRIES.map((label) => ({ label })), selected: 0 },
    buttons: [btn('yes', 'Yes', { primary: true })],
    focus: 'list',
  }));
  add('oobe-keyboard', page(os, 'oobe-keyboard', {
    title: w11 ? 'Is this the right keyboard layout or input method?' : 'Is this the right keyboard layout?',
    paragraphs: w11 ? ['If you also use another keyboard layout, you can add that next.'] : undefined,
    list: { items: KEYBOARDS.map((label) => ({ label })), selected: 0 },
    buttons: [btn('yes', 'Yes', { primary: true })],
    focus: 'list',
  }));
  add('oobe-keyboard-second', page(os, 'oobe-keyboard-second', {
    title: 'Want to add a second keyboard layout?',
    buttons: [btn('add-layout', 'Add layout', { link: true }), btn('skip', 'Skip', { primary: true })],
    focus: 'skip',
  }));
  add('oobe-network', network(os, 'connect'));
  add('oobe-network-key', network(os, 'key'));
  add('oobe-network-wrong-key', network(os, 'wrong-key'));
  add('oobe-network-connected', network(os, 'connected'));
  add('oobe-eula', page(os, 'oobe-eula', {
    title: 'Please review the License Agreement',
    paragraphs: [
      'MICROSOFT SOFTWARE LICENSE TERMS',
      'WINDOWS OPERATING SYSTEM',
      'IF YOU LIVE IN (OR ARE A BUSINESS WITH A PRINCIPAL PLACE OF BUSINESS IN) THE UNITED STATES, PLEASE READ THE BINDING ARBITRATION CLAUSE AND CLASS ACTION WAIVER IN SECTION 11. IT AFFECTS HOW DISPUTES ARE RESOLVED.',
      'Thank you for choosing Microsoft! Depending on how you obtained the Windows software, this is a license agreement between you and the device manufacturer or software installer that distributes the software with your device, or between you and Microsoft.',
    ],
    buttons: [btn('decline', 'Decline'), btn('accept', 'Accept', { primary: true })],
    focus: 'accept',
  }));
  add('entra-signin', page(os, 'entra-signin', {
    brand: ORG,
    title: `Welcome to ${ORG}!`,
    paragraphs: ['Sign in', "Can't access your account?"],
    input: { placeholder: 'someone@example.com', value: '', masked: false },
    buttons: [btn('next', 'Next', { primary: true })],
    focus: 'input',
  }));
  const options = w11 ? ['Pre-provision with Windows Autopilot', 'Install provisioning package'] : ['Windows Autopilot provisioning', 'Install provisioning package'];
  const go = w11 ? btn('next', 'Next', { primary: true }) : btn('continue', 'Continue', { primary: true });
  add('provisioning-options', page(os, 'provisioning-options', {
    title: 'What would you like to do?',
    list: { items: options.map((label) => ({ label })), selected: -1 },
    buttons: [{ ...go, enabled: !w11 }],
    focus: 'list',
  }));
  add('provisioning-options-selected', page(os, 'provisioning-options', {
    title: 'What would you like to do?',
    list: { items: options.map((label) => ({ label })), selected: 0 },
    buttons: [go],
    focus: 'list',
  }));
  add('provisioning-config', page(os, 'provisioning-config', {
    title: w11 ? 'Pre-provision with Windows Autopilot' : 'Windows Autopilot Configuration',
    paragraphs: w11 ? ['Make sure the following details are correct, then select Next.'] : undefined,
    details: DETAILS(w11 ? 'None' : 'adele.vance@contoso.com'),
    qr: SAMPLE_QR_PAYLOAD,
    buttons: [btn('refresh', 'Refresh'), w11 ? btn('next', 'Next', { primary: true }) : btn('provision', 'Provision', { primary: true })],
    focus: w11 ? 'next' : 'provision',
  }));
  const espPage = (stage: 'preparation' | 'setup' | 'error'): ScreenView => page(os, 'esp', {
    title: 'Setting up your device for work',
    paragraphs: ['This could take a while. Your device may restart several times.'],
    esp: { phases: espPhases(stage) },
    buttons: w11 ? [] : [btn('details', 'Hide details', { link: true })],
  });
  add('esp', espPage('preparation'));
  add('esp-setup', espPage('setup'));
  add('esp-error', espPage('error'));
  add('provisioning-success', {
    screen: 'provisioning-success', os, style: 'success',
    title: 'Pre-provisioning succeeded',
    paragraphs: ['This device is ready. Select Reseal to shut it down.'],
    details: [...DETAILS('None'), { label: 'Elapsed time', value: '0:41:07' }],
    qr: w11 ? undefined : SAMPLE_QR_PAYLOAD,
    buttons: [btn('reseal', 'Reseal', { primary: true })],
    focus: 'reseal',
  });
  add('provisioning-failure', {
    screen: 'provisioning-failure', os, style: 'failure',
    title: 'Pre-provisioning failed',
    paragraphs: w11
      ? ['Something went wrong. Error code: 0x800705B4', 'Press Ctrl+Shift+D to collect diagnostics.']
      : ['Something went wrong. Error code: 0x800705B4'],
    details: [...DETAILS('None'), { label: 'Elapsed time', value: '0:12:53' }, { label: 'Error code', value: '0x800705B4' }],
    buttons: [...(w11 ? [] : [btn('diagnostics', 'View diagnostics')]), btn('reset', 'Reset'), btn('retry', 'Retry', { primary: true })],
    focus: 'retry',
  });
  add('provisioning-diagnostics', page(os, 'provisioning-diagnostics', {
    title: 'Diagnostics',
    paragraphs: ['Collect logs to help find the cause of the problem.'],
    buttons: [btn('export', 'Export logs', { primary: true }), btn('close', 'Close')],
    focus: 'export',
  }));
  add('oobe-consumer-setup', page(os, 'oobe-consumer-setup', {
    title: w11 ? 'How would you like to set up this device?' : 'How would you like to set up?',
    list: { items: [{ label: 'Set up for personal use' }, { label: w11 ? 'Set up for work or school' : 'Set up for an organization' }], selected: 0 },
    buttons: [btn('next', 'Next', { primary: true })],
    focus: 'list',
  }));
  add('entra-password', page(os, 'entra-password', {
    brand: ORG,
    title: 'Enter password',
    input: { placeholder: 'Password', value: 'P@ssw0rd!2024', masked: true },
    buttons: [btn('signin', 'Sign in', { primary: true })],
    focus: 'input',
  }));
  add('provisioning-package', page(os, 'provisioning-package', {
    title: 'Provision this device',
    paragraphs: ['Choose a provisioning package'],
    buttons: [btn('back', 'Back')],
    focus: 'back',
  }));
  if (w11) {
    // Off-path screens of reference/screens.md that the real fixtures also show.
    add('oobe-device-name', page(os, 'oobe-device-name', {
      title: "Let's name your device",
      paragraphs: ["Make it yours with a unique name that's easy to recognize when connecting to it from other devices.", 'Your device will restart after you name it.'],
      input: { placeholder: 'Name your device', value: '', masked: false },
      buttons: [btn('skip', 'Skip for now', { link: true }), btn('next', 'Next', { primary: true, enabled: false })],
      focus: 'input',
    }));
    add('oobe-privacy', page(os, 'oobe-privacy', {
      title: 'Choose privacy settings for your device',
      paragraphs: ['Microsoft puts you in control of your privacy. Choose your settings, then select Accept to save them.'],
      buttons: [btn('learn-more', 'Learn more', { link: true }), btn('accept', 'Accept', { primary: true })],
      focus: 'accept',
    }));
  }
  return out;
}

/** Every sample, Windows 11 first. Names are `OS-SCREEN[-VARIANT]`, unique. */
export function sampleViews(): { name: string; view: ScreenView }[] {
  return [...samplesFor('win11'), ...samplesFor('win10')];
}
