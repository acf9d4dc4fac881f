// Power through a USB hub's per-port power switching, with the `uhubctl` program (Debian package uhubctl):
// `uhubctl -l LOCATION -p PORT -a on|off|cycle`. For devices powered from a hub port (small boards, a USB-powered
// PC), or to cut the power of a board's USB link. A missing program, or no such hub, is said plainly with what to do.
import { describeArgv, execArgv, lastLines, type ExecResult } from './exec.ts';
import type { Power, PowerState } from './types.ts';

export interface UhubctlOptions {
  /** The hub's location as uhubctl names it, e.g. 1-1 or 2-1.4 (`uhubctl` with no arguments lists them). */
  location: string;
  /** The port on that hub, 1..N. */
  port: number;
  /** The program (default `uhubctl` on PATH). */
  command?: string;
  /** Seconds the port stays off in cycle() (uhubctl's -d; its default is 2). */
  cycleDelayS?: number;
  timeoutMs?: number;
}

const INSTALL = 'install it (Debian/Ubuntu: sudo apt-get install uhubctl; macOS: brew install uhubctl) or give its path';

export class UhubctlPower implements Power {
  readonly description: string;
  private readonly command: string;

  constructor(private readonly opts: UhubctlOptions) {
    if (!/^\d+(-\d+(\.\d+)*)?$/.test(opts.location)) {
      throw new Error(`uhubctl hub location '${opts.location}' is not a USB location such as 1-1 or 2-1.4 (run uhubctl with no arguments to list the hubs)`);
    }
    if (!(Number.isInteger(opts.port) && opts.port >= 1 && opts.port <= 255)) throw new Error(`uhubctl port must be a whole number 1..255, got ${opts.port}`);
    this.command = opts.command ?? 'uhubctl';
    this.description = `USB hub port power (uhubctl, hub ${opts.location} port ${opts.port})`;
  }

  async on(): Promise<void> {
    await this.run(['-a', 'on'], 'on');
  }

  /** Port power off is always a hard cut: `force` changes nothing. */
  async off(): Promise<void> {
    await this.run(['-a', 'off'], 'off');
  }

  async cycle(): Promise<void> {
    await this.run(['-a', 'cycle', ...(this.opts.cycleDelayS !== undefined ? ['-d', String(this.opts.cycleDelayS)] : [])], 'cycle');
  }

  /** Reads the port's status line, e.g. "Port 2: 0503 power highspeed enable connect" or "Port 2: 0000 off". */
  async state(): Promise<PowerState> {
    const out = await this.run([], 'state');
    const lines = out.stdout.split(/\r?\n/).filter((l) => new RegExp(`^\\s*Port ${this.opts.port}:`).test(l));
    const last = lines.at(-1);
    if (!last) return 'unknown';
    if (/\boff\b/.test(last)) return 'off';
    if (/\bpower\b/.test(last)) return 'on';
    return 'unknown';
  }

  async close(): Promise<void> {
    // uhubctl runs once per action; nothing stays open.
  }

  private async run(action: string[], what: string): Promise<ExecResult> {
    const argv = [this.command, '-l', this.opts.location, '-p', String(this.opts.port), ...action];
    let result: ExecResult;
    try {
      result = await execArgv(argv, { timeoutMs: this.opts.timeoutMs ?? 30_000 });
    } catch (error) {
      const reason = (error as { reason?: string }).reason;
      if (reason === 'missing') throw new Error(`power ${what} through uhubctl failed: the program '${this.command}' is not installed: ${INSTALL}`);
      throw new Error(`power ${what} through uhubctl failed: ${(error as Error).message}`);
    }
    if (result.code === 0) return result;
    const said = lastLines(`${result.stderr}\n${result.stdout}`);
    if (/No compatible devices detected/i.test(said)) {
      throw new Error(
        `power ${what} through uhubctl failed: no USB hub with per-port power switching at location ${this.opts.location} (uhubctl said: ${said}). ` +
          'Run `uhubctl` with no arguments to list the smart hubs and their locations; plug the device into one of those, ' +
          'and run as root or give this user write access to the hub (a udev rule, see uhubctl\'s README).',
      );
    }
    if (/permission|not permitted|root/i.test(said)) {
      throw new Error(`power ${what} through uhubctl failed: not allowed to switch the hub's ports (uhubctl said: ${said}); run as root or add a udev rule that gives this user write access to the hub`);
    }
    throw new Error(`power ${what} through uhubctl failed: '${describeArgv(argv)}' exited with code ${result.code}${said ? `; it said: ${said}` : ''}`);
  }
}
