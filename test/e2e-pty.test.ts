// The agent drives the virtual device over a real pseudo-terminal (socat), as a USB-serial adapter: a
// representative subset of the scenarios (every one runs over TCP in e2e-tcp).
import { describe, it } from 'vitest';
import { checkScenario, runScenario, scenario } from './helpers/e2e-scenarios.ts';

describe('technician flow over pty', () => {
  for (const name of ['win11', 'win10', 'esp-failure', 'win10-retry-success']) {
    const e = scenario(name);
    it(`${e.scenario} (${e.os}) ends ${e.result}`, async () => {
      checkScenario(e, await runScenario(e, 'pty'));
    }, 240_000);
  }
});
