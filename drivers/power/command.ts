// Power through external commands, as openQA's generalhw backend does with its power_on/power_off scripts:
// whatever switches a smart plug, a PDU outlet or a relay card. Each command runs without a shell (argv), with
// a timeout, and must exit 0; its stderr goes into the error. The environment tells it the station and action
// (AUTOPILOT_HIL_STATION, AUTOPILOT_HIL_POWER_ACTION), so one script can serve a whole bench.
import { describeArgv, execArgv, lastLines } from './exec.ts';
import type { Power, PowerState } from './types.ts';

export interface PowerCommands {
  on: string[];
  off: string[];
  /** Cuts power at once, for off(true); default: `off`. */
  forceOff?: string[];
  /** Off and on in one go; default: `off`, a pause of `cycleDelayMs`, then `on`. */
  cycle?: string[];
  /**
   * Prints the state on stdout: `on` or `off` (also 1/0, true/false); exit 0. Without it, state() is 'unknown'.
   * Anything else it prints is an error, since a wrong state is worse than none.
   */
  state?: string[];
}

export interface CommandPowerOptions {
  /** Each command's time limit (default 30 s). */
  timeoutMs?: number;
  /** Pause between off and on in cycle() when there is no cycle command (default 2 s). */
  cycleDelayMs?: number;
  /** The station's name, given to the commands as AUTOPILOT_HIL_STATION. */
  station?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CommandPower implements Power {
  readonly description: string;
  private readonly timeoutMs: number;
  private readonly cycleDelayMs: number;

  constructor(private readonly commands: PowerCommands, private readonly opts: CommandPowerOptions = {}) {
    for (const name of ['on', 'off'] as const) {
      if (!commands[name]?.length || !commands[name][0]) throw new Error(`the command power driver needs an '${name}' command`);
    }
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.cycleDelayMs = opts.cycleDelayMs ?? 2000;
    this.description = `power by command (on: ${describeArgv(commands.on)}; off: ${describeArgv(commands.off)})`;
  }

  async on(): Promise<void> {
    await this.run('on', this.commands.on);
  }

  async off(force = false): Promise<void> {
    if (force && this.commands.forceOff) await this.run('force-off', this.commands.forceOff);
    else await this.run(force ? 'force-off' : 'off', this.commands.off);
  }

  async cycle(): Promise<void> {
    if (this.commands.cycle) return void (await this.run('cycle', this.commands.cycle));
    await this.off(true);
    await sleep(this.cycleDelayMs);
    await this.on();
  }

  async state(): Promise<PowerState> {
    if (!this.commands.state) return 'unknown';
    const out = (await this.run('state', this.commands.state)).trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    if (['on', '1', 'true'].includes(out)) return 'on';
    if (['off', '0', 'false'].includes(out)) return 'off';
    throw new Error(`power state command '${describeArgv(this.commands.state)}' printed '${out.slice(0, 80)}'; it must print on or off`);
  }

  async close(): Promise<void> {
    // Nothing stays open between commands.
  }

  /** Runs one command; its stdout when it exited 0, else an error with its exit status and stderr. */
  private async run(action: string, argv: string[]): Promise<string> {
    const env: Record<string, string> = { AUTOPILOT_HIL_POWER_ACTION: action };
    if (this.opts.station) env.AUTOPILOT_HIL_STATION = this.opts.station;
    let result;
    try {
      result = await execArgv(argv, { timeoutMs: this.timeoutMs, env });
    } catch (error) {
      throw new Error(`power ${action} failed: ${(error as Error).message}`);
    }
    if (result.code !== 0) {
      const status = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
      const said = lastLines(result.stderr) || lastLines(result.stdout);
      throw new Error(`power ${action} failed: '${describeArgv(argv)}' ${status}${said ? `; it said: ${said}` : ' and printed nothing'}`);
    }
    return result.stdout;
  }
}
