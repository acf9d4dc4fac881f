// The agent's drivers against the virtual device, reached only the way a bench is: its board on a
// pseudo-terminal and on TCP, its video as MJPEG over HTTP, its state as JSON over HTTP.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MjpegHttpSource } from '../drivers/capture/mjpeg-http.ts';
import { openHid } from '../drivers/hid/serial-board.ts';
import { startSim, type RunningSim } from '../sim/main.ts';

interface StateHidEvent {
  type: string;
  code?: string;
  down?: boolean;
}

describe('drivers on the virtual device', () => {
  let sim: RunningSim;

  beforeAll(async () => {
    sim = await startSim({ serial: 'pty', scenario: 'win11' });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('types on its board over the pty and over TCP; /state lists the keys in order', async () => {
    expect(sim.info.serial).toMatch(/^\/dev\/pts\/\d+$/);
    for (const spec of [`serial:${sim.info.serial}`, `tcp://${sim.info.tcp}`]) {
      const hid = await openHid(spec, { pingIntervalMs: 0 });
      try {
        const status = await hid.status();
        expect(typeof status.keyboardOnline).toBe('boolean');
        await hid.tap('MetaLeft');
        expect(hid.counters).toMatchObject({ failures: 0, repeats: 0, resends: 0 });
      } finally {
        await hid.close();
      }
    }
    const state = (await (await fetch(sim.info.state)).json()) as { hid: StateHidEvent[] };
    const keys = state.hid.filter((e) => e.type === 'key').map((e) => `${e.code} ${e.down ? 'down' : 'up'}`);
    expect(keys).toEqual(['MetaLeft down', 'MetaLeft up', 'MetaLeft down', 'MetaLeft up']);
    expect(state.hid[0].type).toBe('clear'); // openHid releases every key first
  });

  it('delivers its video frames', async () => {
    const source = new MjpegHttpSource(sim.info.video, { frameTimeoutMs: 10_000 });
    try {
      const first = await source.latest();
      const second = await source.next(first.seq);
      expect(second.seq).toBeGreaterThan(first.seq);
      const meta = await sharp(second.data).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: sim.info.width, height: sim.info.height });
    } finally {
      await source.close();
    }
  });
});
