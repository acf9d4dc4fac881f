// Starts the real programs the way a user does: the virtual device (`autopilot-hil sim`) and the agent
// (`autopilot-hil run`), as separate processes that meet only over the serial line and the video stream.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimProgram, type SimEndpoints } from '../../agent/engine/builtin-device.ts';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_BIN = `${ROOT}bin/autopilot-hil.js`;
export const SIM_BIN = `${ROOT}bin/autopilot-hil-sim.js`;

export type SimInfo = SimEndpoints;

export interface SimProcess {
  info: SimInfo;
  state(): Promise<SimState>;
  stop(): Promise<void>;
}

export interface SimState {
  screen: string;
  hid: { type: string; code?: string; down?: boolean }[];
  typed: string;
  resealed: boolean;
  [key: string]: unknown;
}

/** The virtual device as its own process, started the way `run` starts it; its log goes to a temporary file. */
export async function startSim(args: string[]): Promise<SimProcess> {
  const log = join(mkdtempSync(join(tmpdir(), 'ahil-sim-')), 'device.log');
  const device = await startSimProgram(args, log);
  const info = device.endpoints;
  return {
    info,
    state: async () => (await (await fetch(info.state)).json()) as SimState,
    stop: () => device.stop(),
  };
}

export interface AgentResult { code: number | null; stdout: string; stderr: string }

export function runAgent(args: string[], env: Record<string, string> = {}): Promise<AgentResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGENT_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
