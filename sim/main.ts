// Starts the virtual device with its outside interfaces: the board on a TCP port (and on a pseudo-terminal
// through socat), MJPEG video, /snapshot and /state over HTTP, all on 127.0.0.1. Used by the CLI and by tests.
import { SimClock } from './clock.ts';
import { VirtualDevice } from './device.ts';
import { socatAvailable, startPty, type PtyBridge } from './pty.ts';
import { layoutScreen, type ScreenLayout } from './render/layout.ts';
import { renderFrame } from './render/paint.ts';
import { resolveScenario } from './scenario.ts';
import { serveBoard, type BoardProtocol, type HidSink } from './board.ts';
import { geometryOf, impairFrame, impairsPicture, validateImpairments, type Impairments } from './impair.ts';
import { FrameCache, startBoardServer, startVideoServer, type RunningServer, type VideoSource } from './server.ts';
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
  /**
   * What the HDMI grabber does to /stream and /snapshot (sim/impair.ts). The device's own screen does not change:
   * the pointer's 0..1 still means the rendered frame, whatever the bars, overscan or scale of the video.
   */
  impair?: Impairments;
  /** Draw the mouse pointer where the board's absolute pointer last moved, as a real screen shows it. */
  cursor?: boolean;
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
  /** The video's frame size (the device's unless `impair.scale` says otherwise). */
  videoWidth: number;
  videoHeight: number;
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
  const impair = opts.impair ? validateImpairments(opts.impair) : undefined;
  const videoSize = impair ? geometryOf(impair, width, height) : { width, height }; // throws now on a picture left too small

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

  const quality = impair?.quality ?? opts.quality ?? 90;
  const grabber = impairedVideo(device, { width, height, quality, impair, cursor: opts.cursor ?? false });
  const frames = new FrameCache(grabber.source, grabber.render);
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
    const board = await startBoardServer(grabber.sink);
    started.push(board);
    if (serial === 'pty') {
      pty = await startPty();
      ptyBoard = serveBoard(pty.stream, grabber.sink);
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
        videoWidth: videoSize.width,
        videoHeight: videoSize.height,
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

/** JPEG quality of the clean frame that the impairments start from (the grabber sees a clean signal). */
const SOURCE_QUALITY = 95;

/**
 * The video as the grabber delivers it: what the frame cache watches (a new frame when the view changes, or,
 * with `cursor`, when the pointer moved), how it draws a frame, and the board's sink (the device, with the
 * pointer's moves noted on the way when the cursor is drawn).
 */
function impairedVideo(device: VirtualDevice, o: { width: number; height: number; quality: number; impair?: Impairments; cursor: boolean }):
  { source: VideoSource; render: (view: ScreenView) => Promise<Buffer>; sink: HidSink } {
  const plain = async (view: ScreenView, quality: number) => (await renderFrame(view, { width: o.width, height: o.height, quality })).jpeg;
  if (!o.impair && !o.cursor) return { source: device, render: (view) => plain(view, o.quality), sink: device };

  let pointer: { x: number; y: number } | null = null;
  let pointerMoves = 0;
  const sink: HidSink = !o.cursor ? device : {
    key: (code, down) => device.key(code, down),
    releaseAll: () => device.releaseAll(),
    pointerMove: (x, y) => {
      device.pointerMove(x, y);
      const at = { x: Math.min(1, Math.max(0, x)), y: Math.min(1, Math.max(0, y)) };
      if (at.x !== pointer?.x || at.y !== pointer?.y) { pointer = at; pointerMoves++; }
    },
    pointerButton: (button, down) => device.pointerButton(button, down),
    get keyboardOnline() { return device.keyboardOnline; },
    getLeds: () => device.getLeds(),
  };

  // One number for "the picture changed": the device's view or the pointer.
  let frameVersion = 0, seenView = -1, seenMoves = 0;
  const source: VideoSource = {
    view: () => device.view(),
    get viewVersion() {
      if (device.viewVersion !== seenView || pointerMoves !== seenMoves) {
        seenView = device.viewVersion;
        seenMoves = pointerMoves;
        frameVersion++;
      }
      return frameVersion;
    },
    state: () => device.state(),
  };

  const render = async (view: ScreenView): Promise<Buffer> => {
    // Read before any await: this is the version the cache asked for. No pointer on black or boot screens.
    const showPointer = o.cursor && pointer && view.style !== 'black' && view.style !== 'spinner';
    const imp: Impairments = {
      ...o.impair,
      quality: o.quality,
      ...(showPointer ? { cursor: pointer! } : {}),
      // Fresh noise for each new picture, the same for the same run.
      seed: ((o.impair?.seed ?? 0) + frameVersion) >>> 0,
    };
    if (!impairsPicture(imp)) return plain(view, o.quality);
    return impairFrame(await plain(view, SOURCE_QUALITY), imp);
  };
  return { source, render, sink };
}
