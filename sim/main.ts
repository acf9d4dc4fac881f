// Starts the virtual device with its outside interfaces: the board on a TCP port (and on a pseudo-terminal
// through socat), MJPEG video, /snapshot and /state over HTTP, all on 127.0.0.1. Used by the CLI and by tests.
// The board's line can be made faulty (corrupted and dropped bytes), and the board restarted or its line
// unplugged for a while, through RunningSim and the HTTP control routes (POST /board/restart?ms=,
// POST /board/unplug?ms=, GET /board).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimClock } from './clock.ts';
import { VirtualDevice } from './device.ts';
import { socatAvailable, startPty, type PtyBridge } from './pty.ts';
import { layoutScreen, type ScreenLayout } from './render/layout.ts';
import { renderFrame } from './render/paint.ts';
import { resolveScenario } from './scenario.ts';
import { BoardProtocol, attachBoard, lineFaults, type BoardOptions, type BoardStats, type HidSink, type LineFaultCounts } from './board.ts';
import { geometryOf, impairFrame, impairsPicture, validateImpairments, type Impairments } from './impair.ts';
import { FrameCache, startBoardServer, startVideoServer, type ControlHandler, type RunningServer, type VideoSource } from './server.ts';
import { hitTest, type ScreenView } from './view.ts';
import { PowerButton, type PowerTarget } from './power-button.ts';
import { PikvmApi, type PikvmSimOptions, type PikvmSimStats } from './pikvm-api.ts';

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
  /** The board's serial line (the pty's and the TCP port's): faults in both directions, and its speed. */
  line?: LineOptions;
  /**
   * Give the pty a stable path (a link in a temporary folder, made by socat) and report it as `serial`:
   * after an unplug the pty comes back at the same path, as a real board's /dev/serial/by-id name does.
   */
  stableSerial?: boolean;
  /** Start powered off: the board's power button (or the PiKVM's ATX) turns it on. */
  poweredOff?: boolean;
  /** Also present the device as a PiKVM (sim/pikvm-api.ts) on the video's HTTP server; `info.pikvm` is its URL. */
  pikvm?: PikvmSimOptions | boolean;
}

export interface LineOptions {
  /** Probability that a byte is changed on the line, 0..1 (e.g. 0.01). */
  corrupt?: number;
  /** Probability that a byte is lost on the line, 0..1 (e.g. 0.005). */
  drop?: number;
  /** Seed of the faults: the same seed, the same faults. */
  seed?: number;
  /** Emulate the wire time of a serial line at this many baud (e.g. 115200). */
  baud?: number;
  /**
   * How long the board waits for the rest of a request after its first byte before answering TIMEOUT_ERROR.
   * The protocol says 100 ms; a shorter wait compresses time in long fault tests, as --speed does for setup.
   */
  frameTimeoutMs?: number;
}

/** What GET /board answers: each line's board, what it saw, and the faults made on its line. */
export interface BoardReport {
  unplugged: boolean;
  lines: { line: 'pty' | 'tcp'; stats: BoardStats; faults: LineFaultCounts | null; keysHeld: string[] }[];
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
  /** With `pikvm`: the PiKVM's base URL (http://127.0.0.1:PORT), for pikvm:URL specs. */
  pikvm?: string;
}

export interface RunningSim {
  info: SimInfo;
  device: VirtualDevice;
  /** The boards serving each line (the pty's and the TCP port's), for fault injection. */
  boards(): BoardProtocol[];
  /** Every board restarts; for `bootMs` after, it does not read its line (POST /board/restart?ms=). */
  restartBoard(bootMs?: number): void;
  /**
   * The board's lines vanish for `ms`: the pty is gone (socat ends) and TCP connections are cut and refused;
   * then they come back (the pty at its stable path when `stableSerial`). Resolves when they are back.
   */
  unplugBoard(ms: number): Promise<void>;
  boardReport(): BoardReport;
  /** With `pikvm`: what its API was asked, by route. */
  pikvmStats?(): PikvmSimStats;
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
    poweredOff: opts.poweredOff,
  });
  // The front-panel power button: the board's power pin on each line and the PiKVM's ATX press it.
  const powerTarget: PowerTarget = {
    get poweredOn() { return device.state().poweredOn; },
    get keyboardOnline() { return device.keyboardOnline; },
    powerOn: () => device.powerOn(),
    powerOff: () => device.powerOff(),
  };
  const powerButton = new PowerButton(powerTarget);

  const quality = impair?.quality ?? opts.quality ?? 90;
  const grabber = impairedVideo(device, { width, height, quality, impair, cursor: opts.cursor ?? false });
  const frames = new FrameCache(grabber.source, grabber.render);
  const line = validateLine(opts.line ?? {});
  // Each line has its own faults, from its own seed, so a run is the same whatever the other line does.
  const faultsOf = (n: number) => (line.corrupt || line.drop ? lineFaults({ corrupt: line.corrupt ?? 0, drop: line.drop ?? 0, seed: (line.seed ?? 1) + n }) : null);
  const tcpFaults = faultsOf(0);
  const ptyFaults = faultsOf(1);
  const boardOptions = (faults: ReturnType<typeof faultsOf>): BoardOptions => ({
    ...(faults ? { faults } : {}),
    ...(line.baud ? { wireBaud: line.baud } : {}),
    ...(line.frameTimeoutMs ? { firstByteTimeoutMs: line.frameTimeoutMs } : {}),
    powerPin: powerButton.pin(),
  });
  const started: RunningServer[] = [];
  let pty: PtyBridge | null = null;
  let ptyBoard: BoardProtocol | null = null;
  let detachPty: (() => void) | null = null;
  const linkDir = serial === 'pty' && opts.stableSerial ? mkdtempSync(join(tmpdir(), 'autopilot-hil-sim-')) : null;
  const link = linkDir ? join(linkDir, 'ttyHID') : undefined;
  let closing = false;
  let ptyUnplugged = false;
  const pikvm = opts.pikvm
    ? new PikvmApi({
      sink: grabber.sink, powerPin: powerButton.pin(), get poweredOn() { return powerTarget.poweredOn; },
      reset: () => { device.powerOff(); device.powerOn(); },
    }, opts.pikvm === true ? {} : opts.pikvm)
    : null;
  const closeAll = async () => {
    closing = true;
    pikvm?.close();
    powerButton.close();
    device.close();
    ptyBoard?.close();
    await pty?.close();
    await Promise.all(started.map((s) => s.close()));
    if (linkDir) rmSync(linkDir, { recursive: true, force: true });
  };
  try {
    let control: ControlHandler | undefined;
    const video = await startVideoServer(device, frames, {
      fps: opts.fps ?? 5, control: (req) => control!(req), reboot: () => device.rebootUnexpectedly(), ...(pikvm ? { routes: (req, res, v) => pikvm.handle(req, res, v) } : {}),
    });
    started.push(video);
    const board = await startBoardServer(grabber.sink, boardOptions(tcpFaults));
    started.push(board);
    const tcpBoard = [...board.boards][0];
    if (serial === 'pty') {
      pty = await startPty(5000, { link });
      ptyBoard = new BoardProtocol(grabber.sink, () => { /* attached below */ }, boardOptions(ptyFaults));
      detachPty = attachBoard(ptyBoard, pty.stream);
    }
    const boards = () => [...(ptyBoard ? [ptyBoard] : []), tcpBoard];

    const unplugPty = async (ms: number) => {
      if (!pty || !ptyBoard || ptyUnplugged) return;
      ptyUnplugged = true;
      try {
        const gone = pty;
        pty = null;
        detachPty?.();
        await gone.close(); // socat ends: the host's port reports it vanished
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (!closing) {
          pty = await startPty(5000, { link });
          detachPty = attachBoard(ptyBoard, pty.stream);
        }
      } finally {
        ptyUnplugged = false;
      }
    };
    const restartBoard = (bootMs = 0) => { for (const b of boards()) b.restart(bootMs); };
    const unplugBoard = async (ms: number) => { await Promise.all([unplugPty(ms), board.unplug(ms)]); };
    const boardReport = (): BoardReport => ({
      unplugged: ptyUnplugged || board.unplugged,
      lines: [
        ...(ptyBoard ? [{ line: 'pty' as const, stats: { ...ptyBoard.stats }, faults: ptyFaults ? { ...ptyFaults.counts } : null, keysHeld: ptyBoard.keysHeld }] : []),
        { line: 'tcp' as const, stats: { ...tcpBoard.stats }, faults: tcpFaults ? { ...tcpFaults.counts } : null, keysHeld: tcpBoard.keysHeld },
      ],
    });
    control = boardControl({ restartBoard, unplugBoard, boardReport });

    const base = `http://${video.address}`;
    return {
      info: {
        ...(pty ? { serial: link ?? pty.path } : {}),
        tcp: board.address,
        video: `${base}/stream`,
        snapshot: `${base}/snapshot`,
        state: `${base}/state`,
        scenario: scenario.name,
        width,
        height,
        videoWidth: videoSize.width,
        videoHeight: videoSize.height,
        ...(pikvm ? { pikvm: base } : {}),
      },
      device,
      boards,
      restartBoard,
      unplugBoard,
      boardReport,
      ...(pikvm ? { pikvmStats: () => ({ ...pikvm.stats, requests: { ...pikvm.stats.requests } }) } : {}),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** A line option out of range (bad usage). */
export class LineOptionError extends RangeError {}

function validateLine(line: LineOptions): LineOptions {
  for (const name of ['corrupt', 'drop'] as const) {
    const v = line[name];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 0.5)) throw new LineOptionError(`line ${name} rate must be between 0 and 0.5, got ${v}`);
  }
  if (line.seed !== undefined && !(Number.isInteger(line.seed) && line.seed >= 0 && line.seed <= 0xffffffff)) throw new LineOptionError(`line seed must be an integer 0..4294967295, got ${line.seed}`);
  if (line.baud !== undefined && !(Number.isFinite(line.baud) && line.baud >= 300 && line.baud <= 12_000_000)) throw new LineOptionError(`line baud must be between 300 and 12000000, got ${line.baud}`);
  if (line.frameTimeoutMs !== undefined && !(Number.isInteger(line.frameTimeoutMs) && line.frameTimeoutMs >= 5 && line.frameTimeoutMs <= 10_000)) throw new LineOptionError(`line frame timeout must be 5..10000 ms, got ${line.frameTimeoutMs}`);
  return line;
}

/** Longest restart or unplug the control routes accept, in ms. */
const MAX_FAULT_MS = 600_000;

/** POST /board/restart?ms=, POST /board/unplug?ms=, GET /board. */
function boardControl(sim: Pick<RunningSim, 'restartBoard' | 'unplugBoard' | 'boardReport'>): ControlHandler {
  const msOf = (query: URLSearchParams, fallback: number): number | string => {
    const text = query.get('ms');
    if (text === null) return fallback;
    const ms = Number(text);
    return Number.isInteger(ms) && ms >= 0 && ms <= MAX_FAULT_MS ? ms : `ms must be a whole number of milliseconds 0..${MAX_FAULT_MS}, got "${text}"`;
  };
  return async ({ method, path, query }) => {
    if (path === '/board' && method === 'GET') return { status: 200, body: sim.boardReport() };
    if (path === '/board/restart' && method === 'POST') {
      const ms = msOf(query, 300);
      if (typeof ms === 'string') return { status: 400, body: { error: ms } };
      sim.restartBoard(ms);
      return { status: 200, body: { restarted: true, bootMs: ms } };
    }
    if (path === '/board/unplug' && method === 'POST') {
      const ms = msOf(query, 3000);
      if (typeof ms === 'string') return { status: 400, body: { error: ms } };
      if (sim.boardReport().unplugged) return { status: 409, body: { error: 'the board is already unplugged' } };
      sim.unplugBoard(ms).catch((err: Error) => process.stderr.write(`error: the board's line did not come back after the unplug: ${err.message}\n`));
      return { status: 202, body: { unplugged: true, ms } };
    }
    return undefined;
  };
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
