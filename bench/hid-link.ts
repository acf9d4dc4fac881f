// The keyboard link (issue 4): how long a request takes from the host to the board and back over a
// pseudo-terminal at 115200 baud (the virtual device's board adds the wire time a real 115200 8N1 line has:
// 10 bits a byte, 16 bytes a round trip), and how fast text is typed with nothing lost, on a clean line and on
// one that corrupts 1% and loses 0.5% of its bytes both ways. The virtual device runs as its own process,
// as a board would be its own hardware; "typed" is what the device itself says it received.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openHid, type BoardEvent } from '../drivers/hid/serial-board.ts';
import type { Part, PartResult, Section, SectionContext } from './section.ts';
import { round, timings } from './stats.ts';

const SIM_BIN = fileURLToPath(new URL('../bin/autopilot-hil-sim.js', import.meta.url));
const BAUD = 115200;
/** Wire time of one request and its response at 115200 8N1: 16 bytes of 10 bits. */
const WIRE_MS = (16 * 10 * 1000) / BAUD;

interface Sim {
  info: { serial: string; state: string };
  state(): Promise<{ screen: string; typed: string; keyboardOnline: boolean; hid: { type: string }[] }>;
  board(): Promise<{ lines: { line: string; stats: Record<string, number>; faults: Record<string, number> | null }[] }>;
  stop(): Promise<void>;
}

async function startSim(args: string[]): Promise<Sim> {
  const child: ChildProcess = spawn(process.execPath, [SIM_BIN, '--json', '--scenario', 'win11-wired', '--serial', 'pty', '--speed', '3000',
    '--size', '640x480', '--fps', '1', '--line-baud', String(BAUD), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const info = await new Promise<Sim['info']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the virtual device did not start: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the virtual device exited ${code}: ${stderr}`)); });
  });
  const json = async (url: string) => (await fetch(url)).json();
  return {
    info,
    state: () => json(info.state),
    board: () => json(info.state.replace(/\/state$/, '/board')),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Text with capitals and symbols (Shift), as a Wi-Fi key or a hostname has. */
function sampleText(chars: number): string {
  const pattern = 'Autopilot-Lab_2026! pre-provisioning@Contoso #42; ';
  return pattern.repeat(Math.ceil(chars / pattern.length)).slice(0, chars);
}

async function measureLine(ctx: SectionContext, name: string, faults: string[]): Promise<PartResult> {
  const pings = ctx.quick ? 100 : 500;
  const chars = ctx.quick ? 40 : 300;
  const sim = await startSim(faults);
  try {
    // The sign-in page reads the keyboard and waits: typing lands in its e-mail box.
    const until = Date.now() + 30_000;
    while ((await sim.state()).screen !== 'entra-signin') {
      if (Date.now() > until) throw new Error('the virtual device did not reach its sign-in page');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The host driver with its defaults, as the agent runs it on a bench.
    const hid = await openHid(`serial:${sim.info.serial}`, { pingIntervalMs: 0 });
    const done: number[] = [];
    const onEvent = (e: BoardEvent) => { if (e.type === 'done') done.push(e.ms); };
    hid.onEvent(onEvent);
    try {
      const rtt: number[] = [];
      for (let i = 0; i < pings; i++) {
        const t0 = performance.now();
        await hid.status();
        rtt.push(performance.now() - t0);
      }
      ctx.progress(`${name}: ${pings} PING round trips, p50 ${round(timings(rtt).p50, 2)} ms`);

      const text = sampleText(chars);
      const before = (await sim.state()).typed.length;
      done.length = 0;
      const keysBefore = hid.counters.keyEvents;
      const t0 = performance.now();
      await hid.type(text);
      const seconds = (performance.now() - t0) / 1000;
      const typed = (await sim.state()).typed.slice(before);
      const keyEvents = hid.counters.keyEvents - keysBefore;
      const lossless = typed === text;
      ctx.progress(`${name}: typed ${chars} characters (${keyEvents} key events) in ${round(seconds, 2)} s, ${lossless ? 'nothing lost' : 'NOT what was sent'}`);
      const line = (await sim.board()).lines.find((l) => l.line === 'pty')!;
      return {
        line: faults.length ? 'pty at 115200 baud, 1% of bytes corrupted and 0.5% lost each way' : 'pty at 115200 baud, clean',
        wireMsPerRequest: round(WIRE_MS, 2),
        pingRoundTripMs: timings(rtt),
        keyRequestMs: timings(done),
        typing: {
          characters: chars,
          keyEvents,
          seconds: round(seconds, 2),
          charactersPerSecond: round(chars / seconds),
          keyEventsPerSecond: round(keyEvents / seconds),
          lossless,
          ...(lossless ? {} : { typed: typed.slice(0, 80) }),
        },
        host: hid.counters,
        board: line.stats,
        ...(line.faults ? { lineFaults: line.faults } : {}),
        targets: { lossless },
      };
    } finally {
      await hid.close();
    }
  } finally {
    await sim.stop();
  }
}

const clean: Part = { name: 'clean', run: (ctx) => measureLine(ctx, 'clean', []) };
const faulty: Part = {
  name: 'faulty',
  run: (ctx) => measureLine(ctx, 'faulty', ['--line-corrupt', '0.01', '--line-drop', '0.005', '--line-seed', '5']),
};

export const hidLink: Section = { parts: [clean, faulty] };
