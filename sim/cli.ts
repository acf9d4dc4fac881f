// `autopilot-hil sim`: serves the virtual device until SIGINT or SIGTERM. With --json it prints one JSON line
// when ready: {"serial","tcp","video","snapshot","state",...}. Bad usage or a bad scenario: exit 64.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ImpairmentError, parseImpairments, type ImpairmentArgs, type Impairments } from './impair.ts';
import { LineOptionError, startSim, type RunningSim } from './main.ts';
import { socatAvailable } from './pty.ts';
import { ScenarioError, builtinScenarioNames } from './scenario.ts';

const EXIT_USAGE = 64;
const EXIT_INFRA = 2;

function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected WIDTHxHEIGHT such as 1920x1080, got "${value}"`);
  const width = Number(m[1]), height = Number(m[2]);
  if (width < 320 || height < 240 || width > 7680 || height > 4320) throw new InvalidArgumentError(`${value} is outside 320x240..7680x4320`);
  return { width, height };
}

function parsePositive(name: string, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${name} must be a positive number${max < Infinity ? ` up to ${max}` : ''}, got "${value}"`);
    return n;
  };
}

function parseRate(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 0.5) throw new InvalidArgumentError(`${name} must be a probability between 0 and 0.5, got "${value}"`);
    return n;
  };
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`--line-seed must be a whole number 0..4294967295, got "${value}"`);
  return n;
}

const program = new Command('autopilot-hil sim')
  .description('Serve the virtual device: the board\'s serial HID protocol on a pseudo-terminal and a TCP port, video as MJPEG over HTTP, state as JSON; all on 127.0.0.1.')
  .option('--json', 'print one JSON line when ready: {"serial","tcp","video","snapshot","state"}')
  .option('--scenario <name|file>', `a built-in scenario (${builtinScenarioNames().join(', ')}) or a YAML file`, 'win11')
  .option('--serial <kind>', 'pty (a /dev/pts/N through socat, plus TCP) or tcp (TCP only); default pty when socat is installed')
  .option('--speed <n>', 'simulated seconds per real second (overrides the scenario)', parsePositive('--speed'))
  .addOption(new Option('--size <WxH>', 'frame size in pixels').argParser(parseSize).default({ width: 1920, height: 1080 }, '1920x1080'))
  .option('--fps <n>', 'frames per second on /stream', parsePositive('--fps', 60), 5)
  // What an HDMI grabber does to the video (sim/impair.ts); clicks still land on the device's own screen.
  .option('--jpeg-quality <n>', 'JPEG quality of the video, 1..100 (default 90)')
  .option('--out-size <WxH>', 'video frame size; the picture is resized into it (e.g. 1280x720, 1024x768)')
  .option('--border <f>', 'black bars: a fraction of the video size on each side, or top,bottom,left,right')
  .option('--overscan <f>', 'fraction cut from each edge of the picture, the rest scaled back up (e.g. 0.03)')
  .option('--noise <n>', 'noise standard deviation in 0..255 levels (e.g. 8)')
  .option('--blur <sigma>', 'gaussian blur sigma in video pixels (e.g. 0.8)')
  .option('--brightness <f>', 'brightness multiplier (1 = none)')
  .option('--contrast <f>', 'contrast around mid-grey (1 = none)')
  .option('--tint <r,g,b>', 'colour multipliers per channel (e.g. 1.1,1,0.9)')
  .option('--cursor', 'draw the mouse pointer where the absolute pointer last moved')
  .option('--seed <n>', 'seed of the noise (same seed, same pixels)')
  // The board's serial line (pty and TCP), both directions; POST /board/restart and /board/unplug on the HTTP port.
  .option('--line-corrupt <rate>', 'probability that a byte on the board\'s line is changed, 0..0.5 (e.g. 0.01)', parseRate('--line-corrupt'))
  .option('--line-drop <rate>', 'probability that a byte on the board\'s line is lost, 0..0.5 (e.g. 0.005)', parseRate('--line-drop'))
  .option('--line-seed <n>', 'seed of the line faults (same seed, same faults)', parseSeed)
  .option('--line-baud <n>', 'emulate the wire time of a serial line at this baud rate (e.g. 115200)', parsePositive('--line-baud', 12_000_000))
  .option('--line-frame-timeout <ms>', 'the board answers TIMEOUT_ERROR when a request is not whole this long after its first byte (protocol: 100)', parsePositive('--line-frame-timeout', 10_000))
  // Power and PiKVM stations (drivers/power, drivers/hid/pikvm.ts): the device can start off, and be a PiKVM too.
  .option('--powered-off', 'start powered off: the board\'s power button (POWER_BUTTON) or the PiKVM\'s ATX turns it on')
  .option('--pikvm', 'also serve a PiKVM\'s HTTP API (/api/hid, /api/atx, /api/streamer/snapshot, /streamer/stream) on the video port; credentials admin/admin, or AUTOPILOT_HIL_SIM_PIKVM_USER and AUTOPILOT_HIL_SIM_PIKVM_PASSWORD')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (err) {
    const code = (err as { exitCode?: number; code?: string }).code;
    process.exit(code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : EXIT_USAGE);
  }
  const o = program.opts<{
    json?: boolean; scenario: string; serial?: string; speed?: number; size: { width: number; height: number }; fps: number; cursor?: boolean;
    lineCorrupt?: number; lineDrop?: number; lineSeed?: number; lineBaud?: number; lineFrameTimeout?: number;
    poweredOff?: boolean; pikvm?: boolean;
  } & ImpairmentArgs>();
  let impair: Impairments | undefined;
  try {
    const { jpegQuality, outSize, border, overscan, noise, blur, brightness, contrast, tint, seed } = o;
    const args: ImpairmentArgs = { jpegQuality, outSize, border, overscan, noise, blur, brightness, contrast, tint, seed };
    impair = Object.values(args).some((v) => v !== undefined) ? parseImpairments(args) : undefined;
  } catch (err) {
    if (!(err instanceof ImpairmentError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  let serial: 'pty' | 'tcp';
  if (o.serial === undefined) {
    serial = socatAvailable() ? 'pty' : 'tcp';
    if (serial === 'tcp') process.stderr.write('note: socat is not installed, so there is no pseudo-terminal; the board is on TCP only (install socat for --serial pty)\n');
  } else if (o.serial === 'pty' || o.serial === 'tcp') {
    serial = o.serial;
    if (serial === 'pty' && !socatAvailable()) {
      process.stderr.write('error: --serial pty needs socat, which is not installed (or use --serial tcp)\n');
      process.exit(EXIT_USAGE);
    }
  } else {
    process.stderr.write(`error: --serial must be pty or tcp, got "${o.serial}"\n`);
    process.exit(EXIT_USAGE);
  }

  let sim: RunningSim;
  try {
    const line = { corrupt: o.lineCorrupt, drop: o.lineDrop, seed: o.lineSeed, baud: o.lineBaud, frameTimeoutMs: o.lineFrameTimeout };
    // The pty gets a stable path, so a host that reopens it after POST /board/unplug finds it again.
    sim = await startSim({ scenario: o.scenario, speed: o.speed, serial, width: o.size.width, height: o.size.height, fps: o.fps, impair, cursor: o.cursor, line, stableSerial: true,
      poweredOff: o.poweredOff, pikvm: o.pikvm ? { user: process.env.AUTOPILOT_HIL_SIM_PIKVM_USER, password: process.env.AUTOPILOT_HIL_SIM_PIKVM_PASSWORD } : undefined });
  } catch (err) {
    if (err instanceof ImpairmentError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    if (err instanceof LineOptionError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    if (err instanceof ScenarioError) {
      process.stderr.write(`error: bad scenario: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`error: cannot start the virtual device: ${(err as Error).message}\n`);
    process.exit(EXIT_INFRA);
  }

  if (o.json) {
    process.stdout.write(`${JSON.stringify(sim.info)}\n`);
  } else {
    const i = sim.info;
    process.stdout.write([
      `virtual device running: scenario ${i.scenario}, ${i.width}x${i.height}`
        + (impair || o.cursor ? ` (video ${i.videoWidth}x${i.videoHeight}, impaired as a grabber would)` : ''),
      ...(i.serial ? [`  serial (pty):  ${i.serial}`] : []),
      `  serial (tcp):  ${i.tcp}`,
      `  video:         ${i.video}`,
      `  snapshot:      ${i.snapshot}`,
      `  state:         ${i.state}`,
      ...(i.pikvm ? [`  pikvm:         ${i.pikvm} (run --hid pikvm:${i.pikvm} --capture pikvm:${i.pikvm})`] : []),
      `  board faults:  POST ${i.state.replace(/\/state$/, '/board/restart?ms=300')}, POST ${i.state.replace(/\/state$/, '/board/unplug?ms=3000')}, GET ${i.state.replace(/\/state$/, '/board')}`,
      ...(o.lineCorrupt || o.lineDrop ? [`  line faults:   ${o.lineCorrupt ?? 0} of bytes changed, ${o.lineDrop ?? 0} lost, each way (seed ${o.lineSeed ?? 1})`] : []),
      'Ctrl+C stops it.',
      '',
    ].join('\n'));
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    sim.close().then(
      () => process.exit(0),
      (err: Error) => { process.stderr.write(`error while stopping (${signal}): ${err.message}\n`); process.exit(EXIT_INFRA); },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
