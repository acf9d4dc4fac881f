// The whole technician flow on the virtual device while its keyboard link misbehaves: a line that corrupts
// and loses bytes, a board that restarts mid-flow, a board whose port vanishes for 3 s mid-flow. The agent
// runs as its own process over the pty, as on a bench; each run must still pass, exactly as on a clean line.
import { describe, expect, it } from 'vitest';
import { SCENARIOS, checkScenario, runScenario } from './helpers/e2e-scenarios.ts';
import type { AgentResult, SimProcess } from './helpers/processes.ts';

const win11 = SCENARIOS.find((e) => e.scenario === 'win11')!;

interface BoardReport {
  unplugged: boolean;
  lines: { line: string; stats: { restarts: number; nones: number; crcErrors: number; timeouts: number }; faults: { corruptedIn: number; droppedIn: number; corruptedOut: number; droppedOut: number } | null }[];
}

const boardUrl = (sim: SimProcess, path = '') => sim.info.state.replace(/\/state$/, `/board${path}`);

/**
 * Beside the agent: once the device shows `screen`, asks the board for a fault (`fault` is a POST path, or
 * nothing); when the agent is done, reads the board's report. Says whether the fault was asked for.
 */
function watch(screen: string, fault: string | null) {
  const seen = { triggered: false, board: null as BoardReport | null };
  const during = async (sim: SimProcess, agent: Promise<AgentResult>) => {
    let done = false;
    void agent.then(() => { done = true; });
    while (!done) {
      // The device may pass a screen quicker than a poll: its history says it was there.
      const history = (await sim.state()).history as { screen: string }[];
      if (fault && !seen.triggered && history.some((h) => h.screen === screen)) {
        const r = await fetch(boardUrl(sim, fault), { method: 'POST' });
        expect(r.ok, `${fault}: ${r.status}`).toBe(true);
        seen.triggered = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    seen.board = (await (await fetch(boardUrl(sim))).json()) as BoardReport;
  };
  return { seen, during };
}

describe('technician flow over a misbehaving keyboard link (pty)', () => {
  it('passes over a line that corrupts 1% and loses 0.5% of its bytes both ways', async () => {
    const { seen, during } = watch('', null);
    const run = await runScenario(win11, 'pty', [], { simArgs: ['--line-corrupt', '0.01', '--line-drop', '0.005', '--line-seed', '3'], during });
    checkScenario(win11, run);
    const pty = seen.board!.lines.find((l) => l.line === 'pty')!;
    expect(pty.faults!.corruptedIn + pty.faults!.droppedIn).toBeGreaterThan(5); // the faults did hit the agent's requests
    expect(pty.faults!.corruptedOut + pty.faults!.droppedOut).toBeGreaterThan(5);
  }, 240_000);

  it('passes when the board restarts while the agent is on the network page', async () => {
    const { seen, during } = watch('oobe-network', '/restart?ms=300');
    const run = await runScenario(win11, 'pty', [], { during });
    expect(seen.triggered).toBe(true);
    checkScenario(win11, run);
    const pty = seen.board!.lines.find((l) => l.line === 'pty')!;
    expect(pty.stats.restarts).toBe(1);
  }, 240_000);

  it('passes when the board is unplugged for 3 s while the agent is on the network page', async () => {
    const { seen, during } = watch('oobe-network', '/unplug?ms=3000');
    const run = await runScenario(win11, 'pty', [], { during });
    expect(seen.triggered).toBe(true);
    checkScenario(win11, run);
    expect(seen.board!.unplugged).toBe(false); // it came back
  }, 240_000);
});
