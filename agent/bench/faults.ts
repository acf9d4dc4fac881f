// Faults injected into a virtual station while it runs, from its bench file (faults: [{ at, fault, ms }]):
// once the device has shown the screen `at` (its /state history), the fault is asked for on the virtual
// device's control routes, the way a test or a person would (over HTTP; the agent does not import sim/).
import type { FaultConfig } from './bench-file.ts';

export interface InjectedFault {
  fault: FaultConfig['fault'];
  at: string;
  /** ISO time it was asked for, and the device's answer. */
  injectedAt: string;
  status: number;
  answer?: unknown;
}

const POLL_MS = 200;

function routeOf(f: FaultConfig): string {
  const ms = f.ms !== undefined ? `ms=${f.ms}` : '';
  switch (f.fault) {
    case 'black': return `/video/black?${ms || 'ms=5000'}`;
    case 'freeze': return `/video/freeze?${ms || 'ms=5000'}`;
    case 'resize': {
      const [w, h] = f.size!.split('x');
      return `/video/size?w=${w}&h=${h}${ms ? `&${ms}` : ''}`;
    }
    case 'reboot': return '/device/reboot';
    case 'unplug': return `/board/unplug?${ms || 'ms=3000'}`;
    case 'board-restart': return `/board/restart?${ms || 'ms=300'}`;
  }
}

/**
 * Watches the device at `stateUrl` and injects each fault once its screen has shown. stop() ends the
 * watching and resolves with what was injected.
 */
export function injectFaults(stateUrl: string, faults: FaultConfig[], note: (text: string) => void): { stop(): Promise<InjectedFault[]> } {
  const base = stateUrl.replace(/\/state$/, '');
  const injected: InjectedFault[] = [];
  const pending = faults.map((f) => ({ f, scheduled: false }));
  const timers = new Set<NodeJS.Timeout>();
  const inflight = new Set<Promise<void>>();
  let stopped = false;

  const fire = (f: FaultConfig) => {
    const p = (async () => {
      const route = routeOf(f);
      try {
        const r = await fetch(`${base}${route}`, { method: 'POST' });
        const answer = await r.json().catch(() => undefined);
        injected.push({ fault: f.fault, at: f.at, injectedAt: new Date().toISOString(), status: r.status, answer });
        note(`fault injected: ${f.fault} (POST ${route}) after ${f.at}: HTTP ${r.status}`);
      } catch (err) {
        injected.push({ fault: f.fault, at: f.at, injectedAt: new Date().toISOString(), status: 0, answer: (err as Error).message });
      }
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const poll = async () => {
    while (!stopped && pending.some((p) => !p.scheduled)) {
      try {
        const state = (await (await fetch(stateUrl)).json()) as { history?: { screen: string }[] };
        const seen = new Set((state.history ?? []).map((h) => h.screen));
        for (const p of pending) {
          if (p.scheduled || !seen.has(p.f.at)) continue;
          p.scheduled = true;
          const t = setTimeout(() => { timers.delete(t); if (!stopped) fire(p.f); }, p.f.afterMs);
          timers.add(t);
        }
      } catch {
        // The device is starting or going away: look again.
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  const polling = poll();

  return {
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await polling;
      await Promise.allSettled([...inflight]);
      return injected;
    },
  };
}
