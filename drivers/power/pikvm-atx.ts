// Power through a PiKVM's ATX board (kvmd's API): POST /api/atx/power?action=on|off|off_hard with wait=1 (the
// answer comes once the click is over), and the power LED from GET /api/atx (result.leds.power), which confirms
// each action. kvmd's "on" does nothing when the PC is already on and "off" nothing when it is off, so on() and
// off() are safe to repeat.
import { PikvmClient, PikvmApiError } from '../hid/pikvm-api.ts';
import type { Power, PowerState } from './types.ts';

export interface PikvmAtxOptions {
  /** How long on() waits for the power LED to light (default 30 s; 0: do not wait). */
  onTimeoutMs?: number;
  /** How long a soft off() waits for it to go dark (default 120 s: the OS shuts down first). */
  offTimeoutMs?: number;
  /** How long a forced off() waits for it (default 15 s). */
  forceOffTimeoutMs?: number;
  pollMs?: number;
  /** How long to keep asking while the ATX is busy with someone else's click (409), default 15 s. */
  busyRetryMs?: number;
}

interface AtxState {
  enabled?: boolean;
  busy?: boolean;
  leds?: { power?: boolean; hdd?: boolean };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PikvmAtxPower implements Power {
  readonly description: string;
  private readonly onTimeoutMs: number;
  private readonly offTimeoutMs: number;
  private readonly forceOffTimeoutMs: number;
  private readonly pollMs: number;
  private readonly busyRetryMs: number;

  constructor(private readonly client: PikvmClient, opts: PikvmAtxOptions = {}) {
    this.description = `ATX power of ${client.description}`;
    this.onTimeoutMs = opts.onTimeoutMs ?? 30_000;
    this.offTimeoutMs = opts.offTimeoutMs ?? 120_000;
    this.forceOffTimeoutMs = opts.forceOffTimeoutMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 250;
    this.busyRetryMs = opts.busyRetryMs ?? 15_000;
  }

  async on(): Promise<void> {
    await this.act('on', true, this.onTimeoutMs);
  }

  async off(force = false): Promise<void> {
    await this.act(force ? 'off_hard' : 'off', false, force ? this.forceOffTimeoutMs : this.offTimeoutMs);
  }

  async cycle(): Promise<void> {
    await this.off(true);
    await this.on();
  }

  async state(): Promise<PowerState> {
    const atx = await this.atx();
    return atx.leds?.power === true ? 'on' : atx.leds?.power === false ? 'off' : 'unknown';
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async atx(): Promise<AtxState> {
    const atx = await this.client.call<AtxState>('GET', '/api/atx');
    if (atx.enabled === false) {
      throw new Error(`${this.client.description} has its ATX control disabled (GET /api/atx: enabled false): wire its ATX board and enable it in kvmd (kvmd: atx: type gpio), or power this station another way`);
    }
    return atx;
  }

  private async act(action: 'on' | 'off' | 'off_hard', wantLed: boolean, timeoutMs: number): Promise<void> {
    await this.atx();
    const busyUntil = Date.now() + this.busyRetryMs;
    for (;;) {
      try {
        await this.client.call('POST', '/api/atx/power', { action, wait: 1 });
        break;
      } catch (error) {
        if (!(error instanceof PikvmApiError && error.status === 409) || Date.now() >= busyUntil) throw new Error(`power ${action} through ${this.client.description} failed: ${(error as Error).message}`);
        await sleep(500);
      }
    }
    if (timeoutMs <= 0) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const led = (await this.atx()).leds?.power;
      if (led === wantLed) return;
      if (Date.now() >= deadline) {
        throw new Error(`power ${action} through ${this.client.description}: the power LED is still ${led ? 'on' : 'off'} after ${(timeoutMs / 1000).toFixed(0)} s ` +
          `(is the ATX board wired to the PC's power button and power LED?${action === 'off' ? ' The OS may ignore a short press: try a forced off' : ''})`);
      }
      await sleep(this.pollMs);
    }
  }
}
