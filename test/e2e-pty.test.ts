// The agent drives the virtual device through every built-in scenario, over a real pseudo-terminal (socat).
import { describe, it } from 'vitest';
import { SCENARIOS, checkScenario, runScenario } from './helpers/e2e-scenarios.ts';

describe('technician flow over pty', () => {
  for (const e of SCENARIOS) {
    it(`${e.scenario} ends ${e.result}`, async () => {
      checkScenario(e, await runScenario(e, 'pty'));
    }, 240_000);
  }
});
