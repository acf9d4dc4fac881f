// Many stations on one host (issue 6): a bench of 8 virtual stations run at once by the agent in this
// process (one shared OCR pool), each virtual device its own process, as a real PC is its own machine.
// Figures: whether all passed, the wall time, the host's CPU share (this process's CPU time, OCR workers
// included, plus each virtual device's from /proc/PID/stat, over wall time × cores) and memory (RSS) per
// station. The devices' CPU is listed apart: on a real bench it is spent by the PCs, not by the host.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBench } from '../agent/bench/bench-file.ts';
import { runBench } from '../agent/bench/bench-run.ts';
import type { Part, PartResult, Section, SectionContext } from './section.ts';
import { mb, round } from './stats.ts';

const SPEED = 600;
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in clock ticks of 1/100 s on Linux
const PAGE = 4096;

interface ProcSample { cpuS: number; rss: number }

/** utime + stime (seconds) and RSS (bytes) of a process, or null when it is gone. */
function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3; utime 14, stime 15, rss 24 (1-based in proc(5)).
    return { cpuS: (Number(f[11]) + Number(f[12])) / TICKS, rss: Number(f[21]) * PAGE };
  } catch {
    return null;
  }
}

function isVirtualDevice(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('autopilot-hil-sim');
  } catch {
    return false;
  }
}

/** This process's children (the virtual devices among them). */
function childPids(): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch { /* not Linux: no device figures */ }
  return out;
}

async function manyStations(ctx: SectionContext): Promise<PartResult> {
  const count = ctx.quick ? 3 : 8;
  const dir = mkdtempSync(join(tmpdir(), 'ahil-bench-stations-'));
  const file = join(dir, 'bench.yaml');
  const scenarios = ['win11', 'win11-wired', 'win10', 'win10-wired'];
  writeFileSync(file, ['name: bench-stations', 'stations:',
    ...Array.from({ length: count }, (_, i) => `  - { name: s${i + 1}, virtual: ${scenarios[i % scenarios.length]}, speed: ${SPEED} }`)].join('\n'));
  const bench = parseBench(readFileSync(file, 'utf8'), file);

  // Devices are sampled every half second while they live: the last sample is their CPU time and peak RSS.
  const devices = new Map<number, { cpuS: number; peakRss: number }>();
  let agentPeakRss = 0;
  const sample = () => {
    agentPeakRss = Math.max(agentPeakRss, process.memoryUsage().rss);
    for (const pid of childPids()) {
      if (!devices.has(pid) && !isVirtualDevice(pid)) continue;
      const s = sampleProc(pid);
      if (!s) continue;
      const d = devices.get(pid) ?? { cpuS: 0, peakRss: 0 };
      devices.set(pid, { cpuS: Math.max(d.cpuS, s.cpuS), peakRss: Math.max(d.peakRss, s.rss) });
    }
  };
  const timer = setInterval(sample, 500);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  ctx.progress(`${count} virtual stations at --speed ${SPEED}, run folder ${dir}`);
  let outcome;
  try {
    outcome = await runBench(bench, bench.stations, { outDir: join(dir, 'run'), logLevel: 'silent', stream: { write: () => true } });
  } finally {
    clearInterval(timer);
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const agentCpuS = (cpu.user + cpu.system) / 1e6;
  const deviceList = [...devices.values()];
  const devicesCpuS = deviceList.reduce((a, d) => a + d.cpuS, 0);
  const cores = availableParallelism();
  const results = outcome.summary.stations.map((s) => ({ name: s.name, result: s.result, seconds: round(s.durationMs / 1000), ...(s.message ? { message: s.message } : {}) }));
  const allPassed = results.every((r) => r.result === 'passed');
  const share = (cpuS: number) => round((cpuS / (wallS * cores)) * 100);
  return {
    stations: count,
    speed: SPEED,
    allPassed,
    wallSeconds: round(wallS),
    results,
    cpu: {
      cores,
      agentSeconds: round(agentCpuS),
      devicesSeconds: round(devicesCpuS),
      devicesSampled: deviceList.length,
      /** Percent of all the host's cores over the bench's wall time. */
      hostSharePercent: share(agentCpuS + devicesCpuS),
      agentSharePercent: share(agentCpuS),
      /** One station's part of the host, agent and its device together, in percent of all cores. */
      perStationSharePercent: round(share(agentCpuS + devicesCpuS) / count),
      agentPerStationSharePercent: round(share(agentCpuS) / count),
    },
    memory: {
      agentPeakRssMB: mb(agentPeakRss),
      devicePeakRssMB: deviceList.length ? mb(deviceList.reduce((a, d) => a + d.peakRss, 0) / deviceList.length) : null,
      /** The agent's peak shared by the stations, plus one device's peak. */
      perStationMB: mb(agentPeakRss / count + (deviceList.length ? deviceList.reduce((a, d) => a + d.peakRss, 0) / deviceList.length : 0)),
      agentPerStationMB: mb(agentPeakRss / count),
    },
    targets: { allPassed },
  };
}

export const stations: Section = {
  parts: [{ name: 'stations', run: manyStations } satisfies Part],
};
