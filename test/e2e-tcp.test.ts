// The agent drives the virtual device through every built-in scenario, over a real TCP serial line (as ser2net).
import { describe, it } from 'vitest';
import { SCENARIOS, checkScenario, runScenario } from './helpers/e2e-scenarios.ts';

describe('technician flow over tcp', () => {
  for (const e of SCENARIOS) {
    it(`${e.scenario} ends ${e.result}`, async () => {
      checkScenario(e, await runScenario(e, 'tcp'));
    }, 240_000);
  }
});
