// What a v4l2 grabber offers, as ffmpeg lists it (`ffmpeg -hide_banner -f v4l2 -list_formats all -i DEV`),
// and which of it to capture: MJPEG at 1920x1080 when offered, else the largest raw YUYV size that still
// does 5 frames a second, else the closest thing to 1080p that ffmpeg can read.
//
// ffmpeg prints one line per pixel format, with the sizes but not the frame rates:
//   [video4linux2,v4l2 @ 0x55d0c8a3e940] Compressed:       mjpeg :          Motion-JPEG : 1920x1080 1280x720
//   [video4linux2,v4l2 @ 0x55d0c8a3e940] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 1920x1080
// and for a device with a range of sizes "{MINW-MAXW, STEPW}x{MINH-MAXH, STEPH}" instead of the list.

export interface V4l2Size {
  width: number;
  height: number;
  /** Frame rates offered at this size, when known (ffmpeg's list has none; a richer probe may add them). */
  fps?: number[];
}

export interface V4l2Range {
  minWidth: number;
  maxWidth: number;
  stepWidth: number;
  minHeight: number;
  maxHeight: number;
  stepHeight: number;
}

export interface V4l2Format {
  compressed: boolean;
  /** ffmpeg's name: `mjpeg`, `h264` (compressed) or a pixel format, `yuyv422`, `nv12`; `Unsupported` when ffmpeg cannot read it. */
  name: string;
  /** The driver's description: `Motion-JPEG`, `YUYV 4:2:2`. */
  description: string;
  /** Converted by libv4l rather than sent by the device. */
  emulated: boolean;
  sizes: V4l2Size[];
  range?: V4l2Range;
}

/** Parses ffmpeg's -list_formats output (its stderr); lines that are not format lines are ignored. */
export function parseV4l2Formats(text: string): V4l2Format[] {
  const formats: V4l2Format[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^(\[[^\]]*\]\s*)+/, ''); // "[video4linux2,v4l2 @ 0x…]" and "[info]" prefixes
    // " : " separates the fields; a description has colons of its own ("YUYV 4:2:2") but no space before them.
    const m = /^(Compressed|Raw)\s*:\s*(\S+)\s+:\s+(.*?)\s:(.*)$/.exec(line);
    if (!m) continue;
    let rest = m[4];
    let emulated = false;
    const em = /^\s*Emulated\s*:(.*)$/.exec(rest);
    if (em) {
      emulated = true;
      rest = em[1];
    }
    const format: V4l2Format = { compressed: m[1] === 'Compressed', name: m[2], description: m[3], emulated, sizes: [] };
    const range = /\{(\d+)-(\d+),\s*(\d+)\}x\{(\d+)-(\d+),\s*(\d+)\}/.exec(rest);
    if (range) {
      const [minWidth, maxWidth, stepWidth, minHeight, maxHeight, stepHeight] = range.slice(1).map(Number);
      format.range = { minWidth, maxWidth, stepWidth, minHeight, maxHeight, stepHeight };
    }
    for (const s of rest.replace(/\{[^}]*\}x\{[^}]*\}/g, '').matchAll(/(\d+)x(\d+)/g)) {
      const size = { width: Number(s[1]), height: Number(s[2]) };
      if (!format.sizes.some((o) => o.width === size.width && o.height === size.height)) format.sizes.push(size);
    }
    formats.push(format);
  }
  return formats;
}

/** What to ask the grabber for. */
export interface V4l2Mode {
  /** ffmpeg's -input_format: mjpeg, yuyv422, ... */
  inputFormat: string;
  width: number;
  height: number;
  /** The rate to ask for; the driver settles on the nearest it can do. */
  fps: number;
  /** The frames arrive as JPEG and can be passed through; otherwise ffmpeg encodes them. */
  passthrough: boolean;
  /** Why this mode, for doctor and the logs. */
  why: string;
}

export interface V4l2Wish {
  /** `mjpeg`, `yuyv` (= yuyv422) or another of ffmpeg's names. */
  format?: string;
  size?: { width: number; height: number };
  fps?: number;
}

const TARGET = { width: 1920, height: 1080 };
const MAX_FPS = 30;
const MIN_RAW_FPS = 5;
/** A USB 2.0 isochronous endpoint moves at most 3 x 1024 bytes per 125 us microframe. */
const USB2_BYTES_PER_SECOND = 3 * 1024 * 8000;

export function normalizeFormatName(name: string): string {
  const n = name.trim().toLowerCase();
  if (n === 'yuyv' || n === 'yuy2' || n === 'yuyv422') return 'yuyv422';
  if (n === 'mjpg' || n === 'mjpeg' || n === 'jpeg') return 'mjpeg';
  return n;
}

const area = (s: { width: number; height: number }) => s.width * s.height;

/** Sizes a format offers: its list, or for a range, the size nearest 1080p inside it. */
function offeredSizes(format: V4l2Format): V4l2Size[] {
  if (format.sizes.length || !format.range) return format.sizes;
  const r = format.range;
  const fit = (want: number, min: number, max: number, step: number) =>
    Math.max(min, Math.min(max, min + Math.floor((want - min) / Math.max(step, 1)) * Math.max(step, 1)));
  return [{ width: fit(TARGET.width, r.minWidth, r.maxWidth, r.stepWidth), height: fit(TARGET.height, r.minHeight, r.maxHeight, r.stepHeight) }];
}

/** The highest known rate up to 30, or 30 when the rates are not known (the driver then picks the nearest). */
function bestRate(size: V4l2Size): number {
  const known = (size.fps ?? []).filter((f) => f > 0);
  if (!known.length) return MAX_FPS;
  const fitting = known.filter((f) => f <= MAX_FPS + 0.01);
  return fitting.length ? Math.max(...fitting) : Math.min(...known);
}

/** The best raw rate a size can do: its known rates, else what a USB 2.0 link carries at 2 bytes a pixel. */
function rawRate(size: V4l2Size): number {
  const known = (size.fps ?? []).filter((f) => f > 0);
  if (known.length) return Math.max(...known);
  return USB2_BYTES_PER_SECOND / (size.width * size.height * 2);
}

/** Prefer the largest size up to 1080p; above it, the smallest. */
function nearest1080p(sizes: V4l2Size[]): V4l2Size | undefined {
  const within = sizes.filter((s) => s.width <= TARGET.width && s.height <= TARGET.height).sort((a, b) => area(b) - area(a));
  if (within.length) return within[0];
  return [...sizes].sort((a, b) => area(a) - area(b))[0];
}

/**
 * Chooses format, size and rate from what the grabber offers; `wish` forces any of them. Throws an Error
 * naming what is offered when nothing fits (the caller turns it into a usage error or a failed check).
 */
export function chooseV4l2Mode(formats: V4l2Format[], wish: V4l2Wish = {}): V4l2Mode {
  const usable = formats.filter((f) => f.name !== 'Unsupported');
  const wanted = wish.format ? normalizeFormatName(wish.format) : null;
  const offered = describeFormats(formats);
  const pick = (format: V4l2Format, size: V4l2Size, why: string): V4l2Mode => {
    const chosen = wish.size ?? size;
    return {
      inputFormat: format.name,
      width: chosen.width,
      height: chosen.height,
      fps: wish.fps ?? bestRate(size),
      passthrough: format.name === 'mjpeg',
      why,
    };
  };
  const sizeOf = (format: V4l2Format): V4l2Size | undefined => {
    const sizes = offeredSizes(format);
    if (!wish.size) return undefined;
    return sizes.find((s) => s.width === wish.size!.width && s.height === wish.size!.height) ?? (format.range ? { ...wish.size } : undefined);
  };

  if (wanted) {
    const format = usable.find((f) => f.name === wanted);
    if (!format) throw new Error(`the grabber does not offer format '${wish.format}'; it offers: ${offered}`);
    if (wish.size) {
      const size = sizeOf(format);
      if (!size) throw new Error(`the grabber does not offer ${wish.size.width}x${wish.size.height} in ${format.name}; it offers: ${offered}`);
      return pick(format, size, `${format.name} ${size.width}x${size.height} as asked`);
    }
    const size = format.name === 'mjpeg' ? nearest1080p(offeredSizes(format)) : largestRawAt5fps(format) ?? nearest1080p(offeredSizes(format));
    if (!size) throw new Error(`the grabber lists no sizes for ${format.name}; it offers: ${offered}`);
    return pick(format, size, `${format.name} as asked, ${size.width}x${size.height}`);
  }
  if (wish.size) {
    // A forced size: the first format that has it, MJPEG first.
    const order = [...usable].sort((a, b) => Number(b.name === 'mjpeg') - Number(a.name === 'mjpeg'));
    for (const format of order) {
      const size = sizeOf(format);
      if (size) return pick(format, size, `${wish.size.width}x${wish.size.height} as asked, in ${format.name}`);
    }
    throw new Error(`the grabber does not offer ${wish.size.width}x${wish.size.height}; it offers: ${offered}`);
  }

  const mjpeg = usable.find((f) => f.name === 'mjpeg');
  const mjpeg1080 = mjpeg && offeredSizes(mjpeg).find((s) => s.width === TARGET.width && s.height === TARGET.height);
  if (mjpeg && mjpeg1080) return pick(mjpeg, mjpeg1080, 'MJPEG at 1920x1080');
  const yuyv = usable.find((f) => f.name === 'yuyv422');
  const raw = yuyv && largestRawAt5fps(yuyv);
  if (yuyv && raw) return pick(yuyv, raw, `no MJPEG 1920x1080: the largest YUYV size that does ${MIN_RAW_FPS} fps`);
  if (mjpeg) {
    const size = nearest1080p(offeredSizes(mjpeg));
    if (size) return pick(mjpeg, size, 'MJPEG at the size nearest 1080p');
  }
  // Anything else ffmpeg reads (another raw format, H.264): nearest 1080p.
  for (const format of usable) {
    const size = nearest1080p(offeredSizes(format));
    if (size) return pick(format, size, `${format.name} at the size nearest 1080p (neither MJPEG nor YUYV offered)`);
  }
  throw new Error(`the grabber offers nothing ffmpeg can capture; it offers: ${offered}`);
}

function largestRawAt5fps(format: V4l2Format): V4l2Size | undefined {
  return offeredSizes(format)
    .filter((s) => rawRate(s) >= MIN_RAW_FPS)
    .sort((a, b) => area(b) - area(a))[0];
}

/** One line for messages: "mjpeg 1920x1080 1280x720; yuyv422 640x480". */
export function describeFormats(formats: V4l2Format[]): string {
  if (!formats.length) return 'nothing';
  return formats
    .map((f) => {
      const sizes = f.sizes.map((s) => `${s.width}x${s.height}`);
      if (f.range) sizes.push(`${f.range.minWidth}-${f.range.maxWidth}x${f.range.minHeight}-${f.range.maxHeight}`);
      return `${f.name}${f.emulated ? ' (emulated)' : ''} ${sizes.join(' ') || '(no sizes)'}`;
    })
    .join('; ');
}
