// The grabber impairments of the virtual device's video, measured on real pixels: each does what it says,
// the noise is the same for the same seed, the pointer is drawn where it points; and the sim served with
// them (the command line's options, /snapshot over HTTP) still takes clicks where the device's screen has
// its buttons (the board over TCP), whatever the bars, overscan and scale of the video.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKey } from '../drivers/hid/keymap.ts';
import { Command, encodeRequest, frameCrcOk, keyPayload, mouseButtonPayload, mouseMovePayload } from '../drivers/hid/protocol.ts';
import { ImpairmentError, deviceToOutput, impairFrame, parseImpairments, type Impairments } from '../sim/impair.ts';
import { impairedMatrix, titleCursor } from '../sim/impaired-matrix.ts';
import { startSim, type RunningSim } from '../sim/main.ts';
import { layoutScreen } from '../sim/render/layout.ts';
import { renderFrame } from '../sim/render/paint.ts';
import { sampleViews } from '../sim/render/samples.ts';
import type { SimState } from '../sim/device.ts';
import type { HitTarget, SimScreenId } from '../sim/view.ts';

interface Pixels { data: Buffer; width: number; height: number }

async function pixels(jpeg: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width, height: info.height };
}

/** Mean level (all channels, or one) over a rectangle. */
function mean(p: Pixels, x: number, y: number, w: number, h: number, channel?: number): number {
  let sum = 0, n = 0;
  for (let yy = y; yy < y + h; yy++) {
    for (let xx = x; xx < x + w; xx++) {
      for (let c = 0; c < 3; c++) {
        if (channel !== undefined && c !== channel) continue;
        sum += p.data[(yy * p.width + xx) * 3 + c];
        n++;
      }
    }
  }
  return sum / n;
}

function at(p: Pixels, x: number, y: number): number[] {
  const i = (Math.round(y) * p.width + Math.round(x)) * 3;
  return [p.data[i], p.data[i + 1], p.data[i + 2]];
}

/** A lossless frame drawn pixel by pixel. */
function frame(width: number, height: number, paint: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 3);
  return sharp(data, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
}

const grey = (v: number) => () => [v, v, v] as [number, number, number];

describe('impairFrame on real pixels', () => {
  let flat: Buffer; // 1920x1080 mid-grey
  let screen: Buffer; // a real sample screen, as the sim renders it

  beforeAll(async () => {
    flat = await frame(1920, 1080, grey(128));
    const view = sampleViews().find((s) => s.name === 'win11-provisioning-config')!.view;
    screen = (await renderFrame(view, { width: 1920, height: 1080, quality: 95 })).jpeg;
  });

  it('resizes the picture into the output size, and keeps the size without one', async () => {
    for (const size of [{ width: 1280, height: 720 }, { width: 1024, height: 768 }]) {
      expect(await sharp(await impairFrame(screen, { scale: size })).metadata()).toMatchObject({ format: 'jpeg', ...size });
    }
    expect(await sharp(await impairFrame(screen, { quality: 50 })).metadata()).toMatchObject({ width: 1920, height: 1080 });
  });

  it('draws black bars where the border is and the picture inside', async () => {
    const bright = await frame(640, 360, grey(200));
    const p = await pixels(await impairFrame(bright, { scale: { width: 1280, height: 720 }, border: 0.05, quality: 90 }));
    // 5% of 720 = 36 rows top and bottom, 5% of 1280 = 64 columns left and right.
    expect(mean(p, 0, 0, 1280, 32)).toBeLessThan(6);
    expect(mean(p, 0, 688, 1280, 32)).toBeLessThan(6);
    expect(mean(p, 0, 0, 60, 720)).toBeLessThan(6);
    expect(mean(p, 1220, 0, 60, 720)).toBeLessThan(6);
    expect(mean(p, 68, 40, 1144, 640)).toBeGreaterThan(195);

    const pillar = await pixels(await impairFrame(bright, { scale: { width: 1280, height: 720 }, border: { top: 0, bottom: 0, left: 0.125, right: 0.125 } }));
    expect(mean(pillar, 0, 0, 156, 720)).toBeLessThan(6); // 160 columns of bar each side
    expect(mean(pillar, 1124, 0, 156, 720)).toBeLessThan(6);
    expect(mean(pillar, 164, 0, 952, 720)).toBeGreaterThan(195); // the picture reaches the top and bottom
  });

  it('crops the overscan off the edges and scales the rest back to full size', async () => {
    // A white band as wide as the overscan around a grey picture with a black square in the middle.
    const src = await frame(1000, 1000, (x, y) => {
      if (x < 30 || x >= 970 || y < 30 || y >= 970) return [255, 255, 255];
      if (x >= 400 && x < 600 && y >= 400 && y < 600) return [0, 0, 0];
      return [128, 128, 128];
    });
    const p = await pixels(await impairFrame(src, { overscan: 0.03, quality: 95 }));
    expect(p.width).toBe(1000);
    expect(mean(p, 0, 0, 1000, 4)).toBeLessThan(140); // the band is gone
    expect(mean(p, 0, 0, 4, 1000)).toBeLessThan(140);
    // The square is blown up by 1000/940: about 213 pixels wide instead of 200.
    let dark = 0;
    for (let x = 0; x < 1000; x++) if (at(p, x, 500)[0] < 64) dark++;
    expect(dark).toBeGreaterThanOrEqual(209);
    expect(dark).toBeLessThanOrEqual(217);
  });

  it('makes a smaller file at quality 30 than at 90', async () => {
    const q30 = await impairFrame(screen, { quality: 30 });
    const q90 = await impairFrame(screen, { quality: 90 });
    expect(q30.length).toBeLessThan(q90.length * 0.6);
  });

  it('shifts brightness, contrast and colour', async () => {
    const ramp = await frame(512, 64, (x) => [x >> 1, x >> 1, x >> 1]);
    const base = await pixels(await impairFrame(ramp, { quality: 95 }));
    const dim = await pixels(await impairFrame(ramp, { brightness: 0.8, quality: 95 }));
    const lit = await pixels(await impairFrame(ramp, { brightness: 1.2, quality: 95 }));
    const m = (p: Pixels) => mean(p, 0, 0, 512, 64);
    expect(m(dim) / m(base)).toBeCloseTo(0.8, 1);
    expect(m(lit)).toBeGreaterThan(m(base) * 1.12);

    const flatter = await pixels(await impairFrame(ramp, { contrast: 0.85, quality: 95 }));
    const spread = (p: Pixels) => mean(p, 448, 0, 64, 64) - mean(p, 0, 0, 64, 64);
    expect(spread(flatter) / spread(base)).toBeCloseTo(0.85, 1);

    const warm = await pixels(await impairFrame(flat, { tint: [1.1, 1, 0.9], quality: 95 }));
    expect(mean(warm, 800, 400, 200, 200, 0)).toBeCloseTo(141, -0.5);
    expect(mean(warm, 800, 400, 200, 200, 1)).toBeCloseTo(128, -0.5);
    expect(mean(warm, 800, 400, 200, 200, 2)).toBeCloseTo(115, -0.5);
  });

  it('blurs: sharp edges soften', async () => {
    const stripes = await frame(400, 100, (x) => (x % 4 < 2 ? [0, 0, 0] : [255, 255, 255]));
    const edge = (p: Pixels) => {
      let sum = 0;
      for (let x = 1; x < 400; x++) sum += Math.abs(at(p, x, 50)[1] - at(p, x - 1, 50)[1]);
      return sum / 399;
    };
    const sharpEdges = edge(await pixels(await impairFrame(stripes, { quality: 95 })));
    const soft = edge(await pixels(await impairFrame(stripes, { blur: 0.8, quality: 95 })));
    expect(soft).toBeLessThan(sharpEdges * 0.8);
    expect(soft).toBeGreaterThan(10); // slight: the stripes are still there
  });

  it('adds noise of the asked strength, the same bytes for the same seed and others for another seed', async () => {
    const a = await impairFrame(flat, { noise: 8, seed: 7, quality: 95 });
    const b = await impairFrame(flat, { noise: 8, seed: 7, quality: 95 });
    const c = await impairFrame(flat, { noise: 8, seed: 8, quality: 95 });
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const stats = await sharp(a).stats();
    for (const ch of stats.channels.slice(0, 3)) {
      expect(ch.mean).toBeCloseTo(128, 0);
      expect(ch.stdev).toBeGreaterThan(5); // JPEG smooths a little of the 8
      expect(ch.stdev).toBeLessThan(9);
    }
    const clean = await sharp(await impairFrame(flat, { quality: 95 })).stats();
    expect(clean.channels[0].stdev).toBeLessThan(1);
  });

  it('draws a white arrow with a black outline, its tip where the pointer is', async () => {
    const p = await pixels(await impairFrame(flat, { cursor: { x: 0.25, y: 0.5 }, quality: 95 }));
    const tip = { x: 480, y: 540 };
    expect(Math.min(...at(p, tip.x + 4, tip.y + 12))).toBeGreaterThan(225); // inside the arrow: white
    expect(Math.min(...at(p, tip.x + 2, tip.y + 5))).toBeGreaterThan(225);
    let darkest = 255;
    for (let y = tip.y + 4; y < tip.y + 14; y++) for (let x = tip.x - 2; x <= tip.x + 1; x++) darkest = Math.min(darkest, ...at(p, x, y));
    expect(darkest).toBeLessThan(50); // its left edge: black
    for (const [dx, dy] of [[-8, -8], [20, 0], [0, 40], [-20, 10]]) {
      expect(Math.abs(at(p, tip.x + dx, tip.y + dy)[1] - 128)).toBeLessThan(6); // around it: untouched
    }

    // With scaling and bars the arrow follows the picture: where the device's point appears in the output.
    const imp: Impairments = { cursor: { x: 0.6, y: 0.3 }, scale: { width: 1280, height: 720 }, border: 0.05, overscan: 0.03, quality: 95 };
    const q = await pixels(await impairFrame(flat, imp));
    const o = deviceToOutput(imp, 1920, 1080, 0.6, 0.3);
    expect(Math.min(...at(q, o.x + 2, o.y + 7))).toBeGreaterThan(200);
    expect(Math.abs(at(q, o.x - 6, o.y - 6)[1] - 128)).toBeLessThan(6);
  });

  it('parses command-line strings, and names the option and value it cannot take', () => {
    expect(parseImpairments({
      jpegQuality: '30', outSize: '1280x720', border: '0,0,0.125,0.125', overscan: '0.03', noise: '8', blur: '0.8',
      brightness: '1.2', contrast: '0.85', tint: '1.1,1,0.9', cursor: '0.5,0.2', seed: '42',
    })).toEqual({
      quality: 30, scale: { width: 1280, height: 720 }, border: { top: 0, bottom: 0, left: 0.125, right: 0.125 }, overscan: 0.03,
      noise: 8, blur: 0.8, brightness: 1.2, contrast: 0.85, tint: [1.1, 1, 0.9], cursor: { x: 0.5, y: 0.2 }, seed: 42,
    });
    expect(parseImpairments({ border: '0.05' })).toEqual({ border: 0.05 });
    const problem = (args: Parameters<typeof parseImpairments>[0]) => {
      try {
        parseImpairments(args);
      } catch (err) {
        expect(err).toBeInstanceOf(ImpairmentError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problem({ jpegQuality: '0' })).toBe('--jpeg-quality: must be a whole number from 1 to 100, got 0');
    expect(problem({ outSize: '1280*720' })).toBe('--out-size: expected WIDTHxHEIGHT such as 1280x720, got "1280*720"');
    expect(problem({ noise: 'lots' })).toBe('--noise: expected a number, got "lots"');
    expect(problem({ blur: '0.1' })).toBe('--blur: must be 0 (none) or a sigma from 0.3 to 20, got 0.1');
    expect(problem({ tint: '1,1' })).toBe('--tint: expected r,g,b multipliers such as 1.1,1,0.9, got "1,1"');
    expect(problem({ border: '0.5' })).toBe('--border: must be a number from 0 to 0.45, got 0.5');
    expect(problem({ cursor: '1.5,0' })).toBe('--cursor x: must be a number from 0 to 1, got 1.5');
    expect(problem({ brightness: '-1' })).toBe('--brightness: must be a number above 0 and up to 4, got -1');
  });

  it('has a matrix of named cases, every single impairment at the issue\'s strength and some together', async () => {
    const matrix = impairedMatrix();
    const names = matrix.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const has = (pred: (i: Impairments) => boolean) => matrix.some((c) => pred(c.imp));
    expect(has((i) => i.quality === 30)).toBe(true);
    expect(has((i) => i.scale?.width === 1280 && i.scale.height === 720 && Object.keys(i).length === 1)).toBe(true);
    expect(has((i) => i.scale?.width === 1024 && i.scale.height === 768 && Object.keys(i).length === 1)).toBe(true);
    expect(has((i) => typeof i.border === 'object' && i.border.left === 0.125 && i.border.right === 0.125)).toBe(true);
    expect(has((i) => i.overscan === 0.03 && Object.keys(i).length === 1)).toBe(true);
    expect(has((i) => i.noise === 8)).toBe(true);
    expect(has((i) => i.blur === 0.8)).toBe(true);
    expect(has((i) => i.brightness === 0.8) && has((i) => i.brightness === 1.2 && Object.keys(i).length === 1)).toBe(true);
    expect(has((i) => i.contrast === 0.85 && Object.keys(i).length === 1)).toBe(true);
    expect(has((i) => JSON.stringify(i.tint) === '[1.1,1,0.9]')).toBe(true);
    expect(has((i) => i.cursor !== undefined && Object.keys(i).length === 1)).toBe(true);
    expect(matrix.filter((c) => Object.keys(c.imp).filter((k) => k !== 'seed').length >= 3).length).toBeGreaterThanOrEqual(2);
    // Every case runs on a real screen.
    for (const c of matrix) expect((await sharp(await impairFrame(screen, c.imp)).metadata()).format).toBe('jpeg');

    // The pointer case can sit on a given screen's title: its arrow then lands on the title's text.
    const view = sampleViews().find((s) => s.name === 'win10-oobe-region')!.view;
    const spot = titleCursor(view);
    const title = layoutScreen(view, 1920, 1080).regions.title!;
    expect(spot.x * 1920).toBeGreaterThan(title.x);
    expect(spot.x * 1920).toBeLessThan(title.x + title.width);
    expect(spot.y * 1080).toBeGreaterThan(title.y);
    expect(spot.y * 1080).toBeLessThan(title.y + title.height);
    expect(impairedMatrix(spot).find((c) => c.name === 'cursor-over-title')!.imp.cursor).toEqual(spot);
  });
});

// ---------------------------------------------------------------- the sim, served impaired

async function state(url: string): Promise<SimState> {
  return (await (await fetch(url)).json()) as SimState;
}

async function waitForScreen(url: string, screen: SimScreenId, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(url);
    if (s.screen === screen) return;
    if (Date.now() > until) throw new Error(`still on ${s.screen}, waiting for ${screen}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function snapshot(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toBe('image/jpeg');
  return Buffer.from(await res.arrayBuffer());
}

describe('the sim served with grabber impairments', () => {
  it('from the command line: --out-size 1280x720 --jpeg-quality 40 --border 0.05 serves 1280x720 frames with black bars', async () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'autopilot-hil-sim.js');
    const child = spawn(process.execPath, [bin, '--json', '--serial', 'tcp', '--scenario', 'win11-wired', '--speed', '3000',
      '--out-size', '1280x720', '--jpeg-quality', '40', '--border', '0.05']);
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const until = Date.now() + 30_000;
      while (!out.includes('\n')) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`no JSON line; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const info = JSON.parse(out.trim());
      expect(info).toMatchObject({ width: 1920, height: 1080, videoWidth: 1280, videoHeight: 720 });
      await waitForScreen(info.state, 'entra-signin');
      const jpeg = await snapshot(info.snapshot);
      const p = await pixels(jpeg);
      expect([p.width, p.height]).toEqual([1280, 720]);
      expect(mean(p, 0, 0, 1280, 32)).toBeLessThan(8);
      expect(mean(p, 0, 688, 1280, 32)).toBeLessThan(8);
      expect(mean(p, 0, 40, 60, 640)).toBeLessThan(8);
      expect(mean(p, 1220, 40, 60, 640)).toBeLessThan(8);
      expect(mean(p, 70, 42, 1140, 636)).toBeGreaterThan(150); // the light Windows 11 page inside
      // Quality 40 of a 1280x720 page: far smaller than the sim's usual quality 90 frame of it.
      expect(jpeg.length).toBeLessThan(60_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  });

  it('exits 64 naming a bad impairment option', async () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'autopilot-hil-sim.js');
    const child = spawn(process.execPath, [bin, '--json', '--serial', 'tcp', '--overscan', '0.5']);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(64);
    expect(err).toContain('--overscan: must be a number from 0 to 0.2, got 0.5');
  });

  describe('a pointer through the board on an impaired sim', () => {
    const W = 1280, H = 720;
    const impair: Impairments = { scale: { width: 1024, height: 768 }, border: { top: 0.125, bottom: 0.125, left: 0.02, right: 0.02 }, overscan: 0.03, quality: 60 };
    let sim: RunningSim;
    let socket: Socket;
    let buf = Buffer.alloc(0);

    const request = async (command: number, payload: number[] = []): Promise<Buffer> => {
      buf = Buffer.alloc(0);
      socket.write(encodeRequest(command, payload));
      const until = Date.now() + 2000;
      while (buf.length < 8) {
        if (Date.now() > until) throw new Error(`no response to ${command}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      const r = buf.subarray(0, 8);
      expect(frameCrcOk(r)).toBe(true);
      expect(r[1] & 0x80).toBe(0x80);
      return r;
    };
    const tap = async (key: string) => {
      await request(Command.KEY, keyPayload(findKey(key)!.mcu, true));
      await request(Command.KEY, keyPayload(findKey(key)!.mcu, false));
    };
    /** Points at the target's middle on the DEVICE's screen (the layout at the device's size) and clicks. */
    const click = async (target: HitTarget) => {
      const hit = layoutScreen(sim.device.view(), W, H).targets.find((t) => JSON.stringify(t.target) === JSON.stringify(target));
      if (!hit) throw new Error(`no ${JSON.stringify(target)} on ${sim.device.view().screen}`);
      await request(Command.MOUSE_MOVE, mouseMovePayload((hit.rect.x + hit.rect.width / 2) / W, (hit.rect.y + hit.rect.height / 2) / H));
      await request(Command.MOUSE_BUTTON, mouseButtonPayload('left', true));
      await request(Command.MOUSE_BUTTON, mouseButtonPayload('left', false));
    };

    beforeAll(async () => {
      sim = await startSim({ scenario: 'win11-wired', speed: 3000, serial: 'tcp', width: W, height: H, fps: 10, impair, cursor: true });
      const [host, port] = sim.info.tcp.split(':');
      socket = connect(Number(port), host);
      socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    });

    afterAll(async () => {
      socket?.destroy();
      await sim?.close();
    });

    it('still presses the button under it, and the video shows the arrow where it points', async () => {
      expect(sim.info).toMatchObject({ width: W, height: H, videoWidth: 1024, videoHeight: 768 });
      await waitForScreen(sim.info.state, 'entra-signin');
      for (let i = 0; i < 5; i++) await tap('MetaLeft');
      await waitForScreen(sim.info.state, 'provisioning-options');
      await click({ kind: 'list-item', index: 0 });
      expect(sim.device.view().list?.selected).toBe(0);
      await click({ kind: 'button', id: 'next' });
      await waitForScreen(sim.info.state, 'provisioning-config');
      expect((await state(sim.info.state)).hid.filter((e) => e.type === 'button')).toHaveLength(4);

      // The pointer drawn on the video: only where it points changes between two frames.
      await request(Command.MOUSE_MOVE, mouseMovePayload(0.3, 0.85));
      const a = await pixels(await snapshot(sim.info.snapshot));
      await request(Command.MOUSE_MOVE, mouseMovePayload(0.45, 0.85));
      const b = await pixels(await snapshot(sim.info.snapshot));
      expect([a.width, a.height]).toEqual([1024, 768]);
      const spots = [deviceToOutput(impair, W, H, 0.3, 0.85), deviceToOutput(impair, W, H, 0.45, 0.85)];
      const near = [0, 0];
      let elsewhere = 0;
      for (let y = 0; y < 768; y++) {
        for (let x = 0; x < 1024; x++) {
          const i = (y * 1024 + x) * 3;
          if (Math.abs(a.data[i + 1] - b.data[i + 1]) < 60) continue;
          const k = spots.findIndex((s) => x >= s.x - 3 && x <= s.x + 20 && y >= s.y - 3 && y <= s.y + 28);
          if (k < 0) elsewhere++;
          else near[k]++;
        }
      }
      expect(near[0]).toBeGreaterThan(20);
      expect(near[1]).toBeGreaterThan(20);
      expect(elsewhere).toBe(0);
      // The arrow's white body just below-right of its tip, in the output frame.
      expect(Math.min(...at(b, spots[1].x + 2, spots[1].y + 7))).toBeGreaterThan(200);
    });
  });
});
