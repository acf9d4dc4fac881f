// Colours and sizes of the virtual device's looks. Sizes are fractions of the frame height, so a frame of any
// size looks the same; text sizes are chosen for OCR (nothing under 16 px at 1080p).

/** Colours of one look: Windows 11 card, Windows 10 blue, the green and red result screens, the dark busy screen. */
export interface Palette {
  title: string;
  body: string;
  muted: string;
  link: string;
  error: string;
  accent: string;
  onAccent: string;
  secondaryFill: string;
  secondaryStroke?: string;
  secondaryText: string;
  disabledFill: string;
  disabledText: string;
  selectedFill: string;
  selectedText: string;
  selectedDetail: string;
  /** A selected list item that holds controls (Wi-Fi key box, Connect): a lighter panel so the controls read well. */
  expandedFill: string;
  expandedStroke?: string;
  expandedText: string;
  expandedDetail: string;
  inputFill: string;
  inputStroke: string;
  inputText: string;
  placeholder: string;
  focus: string;
  separator: string;
  ok: string;
}

export const WIN11_CARD: Palette = {
  title: '#1b1b1b',
  body: '#3b3b3b',
  muted: '#5f5f5f',
  link: '#005fb8',
  error: '#c42b1c',
  accent: '#0067c0',
  onAccent: '#ffffff',
  secondaryFill: '#f0f0f0',
  secondaryStroke: '#cfcfcf',
  secondaryText: '#1b1b1b',
  disabledFill: '#bfc3c8',
  disabledText: '#ffffff',
  selectedFill: '#0067c0',
  selectedText: '#ffffff',
  selectedDetail: '#e8f1fb',
  expandedFill: '#e6eef8',
  expandedStroke: '#0067c0',
  expandedText: '#1b1b1b',
  expandedDetail: '#4a4a4a',
  inputFill: '#ffffff',
  inputStroke: '#9a9a9a',
  inputText: '#1b1b1b',
  placeholder: '#6b6b6b',
  focus: '#1b1b1b',
  separator: '#dcdfe4',
  ok: '#0f7b0f',
};

export const WIN10_BLUE_BG = '#003e92';

export const WIN10_BLUE: Palette = {
  title: '#ffffff',
  body: '#ffffff',
  muted: '#d5e1f5',
  link: '#a8d4ff',
  error: '#ffa3a3',
  accent: '#0078d7',
  onAccent: '#ffffff',
  secondaryFill: '#3365a8',
  secondaryText: '#ffffff',
  disabledFill: '#1d5099',
  disabledText: '#93aad0',
  selectedFill: '#2f6fc2',
  selectedText: '#ffffff',
  selectedDetail: '#e6eefa',
  expandedFill: '#2a5ea6',
  expandedStroke: '#8fb8ee',
  expandedText: '#ffffff',
  expandedDetail: '#e6eefa',
  inputFill: '#ffffff',
  inputStroke: '#ffffff',
  inputText: '#000000',
  placeholder: '#666666',
  focus: '#ffffff',
  separator: '#4d74b3',
  ok: '#9ee29e',
};

/** A full-screen result colour (green success, red failure) with white text and white primary buttons. */
function resultPalette(bg: string, lighter: string, dimmer: string): Palette {
  return {
    title: '#ffffff',
    body: '#ffffff',
    muted: '#f0f0f0',
    link: '#ffffff',
    error: '#ffffff',
    accent: '#ffffff',
    onAccent: bg,
    secondaryFill: lighter,
    secondaryStroke: '#ffffff',
    secondaryText: '#ffffff',
    disabledFill: dimmer,
    disabledText: '#d0d0d0',
    selectedFill: lighter,
    selectedText: '#ffffff',
    selectedDetail: '#f0f0f0',
    expandedFill: lighter,
    expandedText: '#ffffff',
    expandedDetail: '#f0f0f0',
    inputFill: '#ffffff',
    inputStroke: '#ffffff',
    inputText: '#000000',
    placeholder: '#666666',
    focus: '#ffffff',
    separator: lighter,
    ok: '#ffffff',
  };
}

export const SUCCESS_BG = '#107c10';
export const FAILURE_BG = '#a80000';
export const SUCCESS: Palette = resultPalette(SUCCESS_BG, '#3f963f', '#0d630d');
export const FAILURE: Palette = resultPalette(FAILURE_BG, '#b93333', '#860000');

/** The black busy / boot screens: light text only. */
export const DARK: Palette = { ...WIN10_BLUE, title: '#ffffff', body: '#e8e8e8', focus: '#ffffff' };

/** Text sizes (fraction of frame height). */
export const SIZE = {
  title: 0.026,
  titleWin10: 0.032,
  titleResult: 0.036,
  busy: 0.024,
  brand: 0.02,
  body: 0.0175,
  listLabel: 0.019,
  listDetail: 0.0155,
  button: 0.0175,
  details: 0.019,
  espPhase: 0.019,
  espItem: 0.0165,
} as const;

/** Text size in whole pixels for a frame height (whole pixels so Pango and the metrics agree). */
export function textPx(fraction: number, height: number): number {
  return Math.max(8, Math.round(fraction * height));
}
