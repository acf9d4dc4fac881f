// Which screen may come now, and for how long a screen may stay: the flow's `next` lists and timeouts,
// applied to every frame the engine reads. A screen the flow does not expect, or one that stays too long,
// ends the run (category flow) with what was expected instead.
import type { Recognition, ScreenId } from '../vision/types.ts';
import type { RunOptions } from './context.ts';
import { RunFailure } from './errors.ts';
import { allowedNext, mayFollow, stepFor, type Flow } from './flow.ts';

export class ScreenTracker {
  /** The last screen that was not transient: what the next screen is checked against (null: the start). */
  private from: ScreenId | null = null;
  private screen: ScreenId | null = null;
  private since = Date.now();
  /** When the Enrollment Status Page of this attempt first showed (reboots in it count to its time). */
  private espSince: number | null = null;

  /** `resumed`: the run goes on from an earlier life of the agent, so its first screen is taken as it is. */
  constructor(private readonly flow: Flow, private readonly options: RunOptions, private resumed = false) {}

  /** What the flow expects next, for messages: "oobe-keyboard, provisioning-options". */
  expected(): string {
    const next = allowedNext(this.flow, this.from);
    const here = this.from && this.screen !== this.from ? ` (after ${this.from})` : '';
    return `${next.length ? next.join(', ') : 'nothing more'}${here}`;
  }

  /** Seconds the current screen may stay: --screen-timeout, else the flow's own, else its default. */
  private limitFor(screen: ScreenId): number {
    if (screen === 'esp') return this.espLimit();
    return this.options.timeouts?.screen ?? stepFor(this.flow, screen)?.timeout ?? this.flow.timeouts.defaultScreen;
  }

  private espLimit(): number {
    return this.options.timeouts?.esp ?? stepFor(this.flow, 'esp')?.timeout ?? this.flow.timeouts.defaultScreen;
  }

  /** Checks a frame just read; throws RunFailure when its screen may not come now or stayed too long. */
  see(rec: Recognition, now = Date.now()): void {
    const screen = rec.screen;
    if (screen !== this.screen) {
      this.screen = screen;
      this.since = now;
      if (screen !== 'unknown') this.enter(screen, rec);
    }
    const stayedS = (now - this.since) / 1000;
    if (screen === 'unknown') {
      if (stayedS > this.flow.timeouts.unknownGrace) {
        const best = rec.candidates?.slice(0, 3).map((c) => `${c.screen} ${c.score.toFixed(2)}`).join(', ');
        throw new RunFailure('flow', `an unexpected screen stayed for ${Math.round(stayedS)} s: it reads "${rec.lines.slice(0, 4).map((l) => l.text).join(' / ')}"${best ? ` (closest: ${best})` : ''}; expected next: ${this.expected()}`);
      }
      return;
    }
    if (this.espSince !== null && (screen === 'esp' || stepFor(this.flow, screen)?.transient)) {
      const espS = (now - this.espSince) / 1000;
      if (espS > this.espLimit()) {
        throw new RunFailure('flow', `the Enrollment Status Page took longer than ${this.espLimit()} s (--esp-timeout); expected next: ${this.expected()}`);
      }
    }
    const limitS = this.limitFor(screen);
    if (screen !== 'esp' && stayedS > limitS) {
      throw new RunFailure('flow', `the device stayed on ${screen} for more than ${limitS} s; expected next: ${this.expected()}`);
    }
  }

  private enter(screen: ScreenId, rec: Recognition): void {
    const step = stepFor(this.flow, screen);
    if (!step) {
      throw new RunFailure('flow', `screen ${screen}${rec.os ? ` (${rec.os})` : ''} is not part of flow ${this.flow.name}; expected next: ${this.expected()}`);
    }
    const first = this.resumed;
    this.resumed = false;
    if (!first && !mayFollow(this.flow, this.from, screen)) {
      const next = allowedNext(this.flow, this.from);
      throw new RunFailure('flow', `screen ${screen} is not expected ${this.from ? `after ${this.from}` : 'first'}; expected next: ${next.join(', ') || 'nothing more'}`);
    }
    if (step.transient || step.do === 'fail') return;
    if (screen === 'esp') this.espSince ??= Date.now();
    else this.espSince = null;
    this.from = screen;
  }
}
