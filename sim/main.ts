// Starts the virtual device with its outside interfaces: the board on a TCP port (and on a pseudo-terminal
// through socat), MJPEG video, /snapshot and /state over HTTP, all on 127.0.0.1. Used by the CLI and by tests.
import { SimClock } from './clock.ts';
import { VirtualDevice } from './device.ts';
import { socatAvailable, startPty, type PtyBridge } from './pty.ts';
import { layoutScreen, type ScreenLayout } from './render/layout.ts';
import { renderFrame } from './render/paint.ts';
import { resolveScenario } from './scenario.ts';
import { serveBoard, type BoardProtocol } from './board.ts';
import { FrameCache, startBoardServer, startVideoServer, type RunningServer } from './server.ts';
import { hitTest, type ScreenView } from './view.ts';

export interface SimOptions {
  /** A built-in scenario name or a YAML file (default win11). */
  scenario?: string;
  /** Simulated seconds per real second; overrides the scenario's. */
  speed?: number;
  /** Where the board's serial line is: a pty (needs socat) and TCP, or TCP only. Default: pty when socat is there. */
  serial?: 'pty' | 'tcp';
  width?: number;
  height?: number;
  fps?: number;
  /** JPEG quality of the frames (default 90). */
  quality?: number;
}

export interface SimInfo {
  /** The pseudo-terminal a host opens as the board's serial port (serial: 'pty' only). */
  serial?: string;
  /** The board's raw TCP port, host:port. */
  tcp: string;
  video: string;
  snapshot: string;
  state: string;
  scenario: string;
  width: number;
  height: number;
}

export interface RunningSim {
  info: SimInfo;
  device: VirtualDevice;
  /** The boards serving each open line (the pty's and each TCP connection's), for fault injection. */
  boards(): BoardProtocol[];
  close(): Promise<void>;
}

export async function startSim(opts: SimOptions = {}): Promise<RunningSim> {
  const scenario = resolveScenario(opts.scenario ?? 'win11', { speed: opts.speed });
  const width = opts.width ?? 1920;
  const height = opts.height ?? 1080;
  // Fail on a bad size now, not on the first frame.
  layoutScreen({ screen: 'no-signal', os: scenario.os, style: 'black', buttons: [], focus: null }, width, height);
  const serial = opts.serial ?? (socatAvailable() ? 'pty' : 'tcp');

  // Clicks land where the renderer put the controls: the layout is pure, so the device asks it directly.
  let lastLayout: { view: ScreenView; layout: ScreenLayout } | null = null;
  const layoutOf = (view: ScreenView) => {
    if (lastLayout?.view !== view) lastLayout = { view, layout: layoutScreen(view, width, height) };
    return lastLayout.layout;
  };
  const device = new VirtualDevice({
    scenario,
    clock: new SimClock(scenario.speed),
    hitTest: (view, x, y) => hitTest(layoutOf(view), x * width, y * height),
  });

  const frames = new FrameCache(device, async (view) => (await renderFrame(view, { width, height, quality: opts.quality ?? 90 })).jpeg);
  const started: RunningServer[] = [];
  let pty: PtyBridge | null = null;
  let ptyBoard: BoardProtocol | null = null;
  const closeAll = async () => {
    device.close();
    ptyBoard?.close();
    await pty?.close();
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    const video = await startVideoServer(device, frames, { fps: opts.fps ?? 5 });
    started.push(video);
    const board = await startBoardServer(device);
    started.push(board);
    if (serial === 'pty') {
      pty = await startPty();
      ptyBoard = serveBoard(pty.stream, device);
    }
    const base = `http://${video.address}`;
    return {
      info: {
        ...(pty ? { serial: pty.path } : {}),
        tcp: board.address,
        video: `${base}/stream`,
        snapshot: `${base}/snapshot`,
        state: `${base}/state`,
        scenario: scenario.name,
        width,
        height,
      },
      device,
      boards: () => [...(ptyBoard ? [ptyBoard] : []), ...board.boards],
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
