// A folder of real image files (PNG and JPEG made by sharp) as a frame source: name order, loop or hold at
// the end, files dropped in while it runs (a half-written one not shown until whole), and the spec forms.
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../agent/engine/errors.ts';
import { FolderSource, isWholeImage } from '../drivers/capture/folder.ts';
import { openCaptureSpec } from '../drivers/capture/open.ts';
import type { Frame, FrameSource } from '../drivers/capture/types.ts';

function image(width: number, height: number, colour: string, format: 'png' | 'jpeg'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: colour } });
  return (format === 'png' ? img.png() : img.jpeg()).toBuffer();
}

/** A folder with frame-1.png, frame-2.png, frame-10.jpg (name order by number, not by character) and a note. */
async function recordedRun(): Promise<{ dir: string; files: Record<string, Buffer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ahil-folder-'));
  const files: Record<string, Buffer> = {
    'frame-1.png': await image(320, 200, '#c00', 'png'),
    'frame-2.png': await image(320, 200, '#0c0', 'png'),
    'frame-10.jpg': await image(640, 400, '#00c', 'jpeg'),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  writeFileSync(join(dir, '.hidden.png'), files['frame-1.png']);
  return { dir, files };
}

/** The files the next `count` frames are (by their bytes), with their seqs. */
async function nextFrames(source: FrameSource, files: Record<string, Buffer>, count: number, after = 0): Promise<{ names: string[]; last: Frame }> {
  const names: string[] = [];
  let frame = after ? await source.next(after) : await source.latest();
  for (;;) {
    names.push(Object.entries(files).find(([, data]) => data.equals(frame.data))?.[0] ?? '?');
    if (names.length === count) return { names, last: frame };
    frame = await source.next(frame.seq);
  }
}

let open: FrameSource[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

describe('a folder of images', () => {
  it('shows the images in name order, then holds the last one', async () => {
    const { dir, files } = await recordedRun();
    const source = new FolderSource(dir, { fps: 20 });
    open.push(source);
    const { names, last } = await nextFrames(source, files, 6);
    expect(names).toEqual(['frame-1.png', 'frame-2.png', 'frame-10.jpg', 'frame-10.jpg', 'frame-10.jpg', 'frame-10.jpg']);
    expect(last.seq).toBe(6);
    expect(source.currentFile).toBe(join(dir, 'frame-10.jpg'));
    const meta = await sharp(last.data).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 640, height: 400 });
  });

  it('loops when asked', async () => {
    const { dir, files } = await recordedRun();
    const source = new FolderSource(dir, { fps: 20, atEnd: 'loop' });
    open.push(source);
    const { names } = await nextFrames(source, files, 7);
    expect(names).toEqual(['frame-1.png', 'frame-2.png', 'frame-10.jpg', 'frame-1.png', 'frame-2.png', 'frame-10.jpg', 'frame-1.png']);
  });

  it('picks up files dropped in while it runs, once they are whole', async () => {
    const { dir, files } = await recordedRun();
    const source = new FolderSource(dir, { fps: 20 });
    open.push(source);
    const held = await nextFrames(source, files, 4);
    expect(held.names.at(-1)).toBe('frame-10.jpg');

    // A grabber writes its next snapshot: half of it first.
    const snapshot = await image(800, 600, '#888', 'png');
    files['frame-11.png'] = snapshot;
    writeFileSync(join(dir, 'frame-11.png'), snapshot.subarray(0, snapshot.length >> 1));
    let seen = held.last;
    for (let i = 0; i < 200 && !source.status.images.includes('frame-11.png'); i++) seen = await source.next(seen.seq);
    expect(source.status.images).toEqual(['frame-1.png', 'frame-2.png', 'frame-10.jpg', 'frame-11.png']);
    const whileHalf = await nextFrames(source, files, 5, seen.seq);
    expect(whileHalf.names).toEqual(Array(5).fill('frame-10.jpg'));
    expect(source.status.lastError).toBe('frame-11.png: not a whole PNG or JPEG (yet)');

    appendFileSync(join(dir, 'frame-11.png'), snapshot.subarray(snapshot.length >> 1));
    let frame = whileHalf.last;
    for (let i = 0; i < 100 && !frame.data.equals(snapshot); i++) frame = await source.next(frame.seq);
    expect(frame.data.equals(snapshot)).toBe(true);
    expect(await sharp(frame.data).metadata()).toMatchObject({ format: 'png', width: 800, height: 600 });
  });

  it('waits for images in an empty folder, and says so when none come', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ahil-folder-'));
    const source = new FolderSource(dir, { fps: 20 });
    open.push(source);
    await expect(source.latest(400)).rejects.toThrow(/no images \(PNG, JPEG\) in .*ahil-folder-/);
    const png = await image(64, 48, '#123456', 'png');
    writeFileSync(join(dir, 'shot.png'), png);
    expect((await source.latest(10_000)).data.equals(png)).toBe(true);
  });

  it('tells whole images from cut ones', async () => {
    const png = await image(64, 48, '#abc', 'png');
    const jpeg = await image(64, 48, '#abc', 'jpeg');
    expect(isWholeImage(png)).toBe(true);
    expect(isWholeImage(jpeg)).toBe(true);
    expect(isWholeImage(Buffer.concat([jpeg, Buffer.from([0, 0, 0])]))).toBe(true);
    expect(isWholeImage(png.subarray(0, png.length - 1))).toBe(false);
    expect(isWholeImage(jpeg.subarray(0, jpeg.length - 2))).toBe(false);
    expect(isWholeImage(Buffer.from('GIF89a……'))).toBe(false);
  });
});

describe('folder capture specs', () => {
  it('opens folder:DIR with options, and a plain directory', async () => {
    const { dir, files } = await recordedRun();
    const looping = await openCaptureSpec(`folder:${dir}?fps=20&end=loop`);
    open.push(looping);
    expect(looping.description).toContain('loop at the end');
    expect((await nextFrames(looping, files, 4)).names).toEqual(['frame-1.png', 'frame-2.png', 'frame-10.jpg', 'frame-1.png']);

    const plain = await openCaptureSpec(dir);
    open.push(plain);
    expect(plain.description).toContain('2 fps, hold at the end');
    expect((await plain.latest()).data.equals(files['frame-1.png'])).toBe(true);
  });

  it('refuses a missing folder or a bad option with a usage error', async () => {
    const { dir } = await recordedRun();
    await expect(openCaptureSpec('folder:/no/such/folder')).rejects.toThrow(UsageError);
    await expect(openCaptureSpec(`folder:${dir}?fps=0`)).rejects.toThrow(/fps '0': expected a number above 0/);
    await expect(openCaptureSpec(`folder:${dir}?end=bounce`)).rejects.toThrow(/end 'bounce': expected loop or hold/);
    await expect(openCaptureSpec(`folder:${dir}?speed=2`)).rejects.toThrow(/unknown option 'speed'/);
    expect(() => new FolderSource(join(dir, 'frame-1.png'))).toThrow(/not a directory/);
  });
});
