// The agent drives the virtual device through every built-in scenario, both Windows versions, over a real
// TCP serial line (as ser2net): the agent and the device are separate processes.
import { describe, it } from 'vitest';
import { SCENARIOS, checkScenario, runScenario } from './helpers/e2e-scenarios.ts';

describe('technician flow over tcp', () => {
  for (const e of SCENARIOS) {
    it(`${e.scenario} (${e.os}) ends ${e.result}`, async () => {
      checkScenario(e, await runScenario(e, 'tcp'));
    }, 240_000);
  }
});
