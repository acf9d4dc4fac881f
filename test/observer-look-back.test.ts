// Looking back at what the agent skipped: while it reads one frame (most of a second on a loaded bench) the
// device may show a state and leave it, as the ESP does at its end, a second or two before the result page.
// Real MJPEG over HTTP, real frames of the virtual device, real OCR.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MjpegHttpSource } from '../drivers/capture/mjpeg-http.ts';
import { Observer } from '../agent/engine/observer.ts';
import { Recognizer } from '../agent/vision/recognizer.ts';
import { renderFrame } from '../sim/render/paint.ts';
import { sampleViews } from '../sim/render/samples.ts';
import { StreamServer } from './helpers/stream-server.ts';

/** A sample screen of the virtual device as a grabber sends it; another quality gives other bytes, as noise does. */
async function frameOf(name: string, quality = 90): Promise<Buffer> {
  const sample = sampleViews().find((s) => s.name === name);
  if (!sample) throw new Error(`no sample ${name}`);
  return (await renderFrame(sample.view, { width: 1920, height: 1080, quality })).jpeg;
}

let recognizer: Recognizer;
beforeAll(async () => { recognizer = await Recognizer.create({ workers: 1 }); });
afterAll(async () => { await recognizer?.close(); });

describe('the observer looks back at frames it skipped', () => {
  let stream: StreamServer;
  let source: MjpegHttpSource;

  beforeEach(async () => {
    stream = new StreamServer();
    await stream.start();
    source = new MjpegHttpSource(`${stream.url}/stream`, { frameTimeoutMs: 5000 });
    await stream.waitForClients(1);
  });
  afterEach(async () => {
    await source.close();
    await stream.stop();
  });

  /** Sends frames at 5 fps, as the virtual device's stream does, and waits until the source has them all. */
  async function show(frames: Buffer[]): Promise<void> {
    const before = source.recent().at(-1)?.seq ?? 0;
    for (const [i, f] of frames.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      await stream.send(f);
    }
    for (let i = 0; i < 200 && (source.recent().at(-1)?.seq ?? 0) < before + frames.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(source.recent().at(-1)?.seq).toBe(before + frames.length);
  }

  it('finds the ESP\'s last picture (which item failed) among the frames that came while it read an earlier one', async () => {
    const observer = new Observer(source, recognizer);
    await show([await frameOf('win11-esp')]);
    expect((await observer.look()).rec.screen).toBe('esp');

    // While the agent was busy: the ESP went on, failed, and the red page came (re-encoded frames, as a grabber's).
    const [setup, setup2, error, error2, red, red2] = await Promise.all([
      frameOf('win11-esp-setup'), frameOf('win11-esp-setup', 86), frameOf('win11-esp-error'), frameOf('win11-esp-error', 86),
      frameOf('win11-provisioning-failure'), frameOf('win11-provisioning-failure', 86),
    ]);
    await show([setup, setup2, error, error2, red, red2, red]);
    const now = await observer.look();
    expect(now.rec.screen).toBe('provisioning-failure');

    const last = await observer.lastSkipped('esp');
    expect(last).not.toBeNull();
    // The newest ESP frame of those skipped, and what it says.
    expect(last!.frame.data.equals(error2)).toBe(true);
    expect(last!.rec.screen).toBe('esp');
    const phases = last!.rec.fields.esp!.phases;
    expect(phases.map((p) => [p.name, p.state])).toEqual([
      ['Device preparation', 'complete'], ['Device setup', 'error'], ['Account setup', 'not-started'],
    ]);
    expect(phases[1].items.find((i) => i.name === 'Apps')?.state).toBe('error');

    // Read aside: the stream's memory is still the red page, so the same bytes again cost a comparison only.
    const sameBefore = recognizer.counts.sameBytes;
    expect((await recognizer.read(red)).screen).toBe('provisioning-failure');
    expect(recognizer.counts.sameBytes).toBe(sameBefore + 1);
  });

  it('finds nothing when no frame was skipped, or when the device is still on that screen', async () => {
    const observer = new Observer(source, recognizer);
    await show([await frameOf('win11-esp')]);
    await observer.look();
    await show([await frameOf('win11-esp-setup')]);
    expect((await observer.look()).rec.screen).toBe('esp');
    expect(await observer.lastSkipped('esp')).toBeNull();
    await show([await frameOf('win11-provisioning-success')]);
    expect((await observer.look()).rec.screen).toBe('provisioning-success');
    expect(await observer.lastSkipped('esp')).toBeNull();
  });
});
