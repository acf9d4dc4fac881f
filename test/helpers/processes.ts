// Starts the real programs the way a user does: the virtual device (`autopilot-hil sim`) and the agent
// (`autopilot-hil run`), as separate processes that meet only over the serial line and the video stream.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_BIN = `${ROOT}bin/autopilot-hil.js`;
export const SIM_BIN = `${ROOT}bin/autopilot-hil-sim.js`;

export interface SimInfo { serial?: string; tcp: string; video: string; snapshot: string; state: string }

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

export async function startSim(args: string[]): Promise<SimProcess> {
  const child = spawn(process.execPath, [SIM_BIN, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const info = await new Promise<SimInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim did not start: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sim exited ${code}: ${stderr}`)); });
  });
  return {
    info,
    state: async () => (await (await fetch(info.state)).json()) as SimState,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
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
