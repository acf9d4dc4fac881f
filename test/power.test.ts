// The power drivers as a lab uses them: the board's power-button output over a real pseudo-terminal (socat)
// pressing the virtual device's power button, external commands that are real shell scripts, a person answering
// on a real piped standard input (or a file appearing), uhubctl on a machine without a smart hub, and the spec
// forms a bench file or the command line gives.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openHid, type SerialBoard } from '../drivers/hid/serial-board.ts';
import { CommandPower } from '../drivers/power/command.ts';
import { ManualPower } from '../drivers/power/manual.ts';
import { openPower, parsePowerSpec, powerSpecSchema, PowerSpecError } from '../drivers/power/open.ts';
import { UhubctlPower } from '../drivers/power/uhubctl.ts';
import { startSim, type RunningSim } from '../sim/main.ts';

const ROOT = new URL('../', import.meta.url).pathname;

async function simState(sim: RunningSim): Promise<{ poweredOn: boolean; keyboardOnline: boolean; screen: string }> {
  return (await (await fetch(sim.info.state)).json()) as { poweredOn: boolean; keyboardOnline: boolean; screen: string };
}

describe('the board\'s power button, over a pty, on the virtual device', () => {
  let sim: RunningSim;
  let board: SerialBoard;

  beforeAll(async () => {
    sim = await startSim({ serial: 'pty', scenario: 'win11', speed: 600, poweredOff: true });
    board = await openHid(`serial:${sim.info.serial}`, { pingIntervalMs: 0 });
  });
  afterAll(async () => {
    await board?.close();
    await sim?.close();
  });

  it('powers the device on, leaves it on when asked again, forces it off with a long press, and shuts it down with a short one', async () => {
    expect(sim.info.serial).toMatch(/^\/dev\/pts\/\d+$/);
    expect(await simState(sim)).toMatchObject({ poweredOn: false, keyboardOnline: false, screen: 'no-signal' });
    const power = await openPower('board', { board });
    expect(power.description).toContain(`serial ${sim.info.serial}`);
    expect(await power.state()).toBe('unknown'); // the board cannot tell off from booting

    await power.on(); // a short press, then the device boots until it reads the keyboard
    let state = await simState(sim);
    expect(state).toMatchObject({ poweredOn: true, keyboardOnline: true });
    expect(state.screen).not.toBe('no-signal');
    expect(await power.state()).toBe('on');
    const screenBefore = state.screen;
    await power.on(); // already on: no press (a short press would shut Windows down)
    state = await simState(sim);
    expect(state.poweredOn).toBe(true);
    expect(sim.boards()[0].powerButtonPressed).toBe(false);

    const started = Date.now();
    await power.off(true); // the board holds the button 5 s; the PC cuts its supply at 4 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    state = await simState(sim);
    expect(state).toMatchObject({ poweredOn: false, keyboardOnline: false, screen: 'no-signal' });
    expect(screenBefore).not.toBe('no-signal');

    await power.cycle(); // forced off (it already is), then on again
    expect(await simState(sim)).toMatchObject({ poweredOn: true, keyboardOnline: true });
    await power.off(); // a short press: Windows shuts down
    expect(await simState(sim)).toMatchObject({ poweredOn: false });
    expect(board.counters.failures).toBe(0);
  }, 90_000);

  it('reports the firmware version, and refuses a power action the firmware does not have', async () => {
    expect(await board.firmwareVersion()).toEqual({ major: 1, minor: 0, patch: 0, board: 'host-test' });
    await expect(board.powerButton('press' as never)).rejects.toThrow(/power button mode must be one of release, hold, short, long/);
  });

  it('holds the button until released', async () => {
    expect(await board.powerButton('hold')).toEqual({ pressed: true });
    expect(sim.boards()[0].powerButtonPressed).toBe(true);
    expect(await board.powerButton('release')).toEqual({ pressed: false });
    expect(sim.boards()[0].powerButtonPressed).toBe(false);
  });

  it('says why when the station has no serial board', async () => {
    await expect(openPower('board', {})).rejects.toThrow(/power 'board' uses the station's serial HID board, but no board was given/);
    await expect(openPower('board', { board: { description: 'keyboard and pointer of PiKVM http://kvm' } }))
      .rejects.toThrow(/keyboard and pointer of PiKVM http:\/\/kvm\) has no power-button output: use uhubctl:, pikvm:, command: or manual/);
  });
});

describe('power by external commands (real shell scripts, no shell in between)', () => {
  let dir: string;
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ahil-power-'));
    // A "smart plug": its state in a file, every call logged with the station the agent named.
    script('plug', `echo "$1 $2 $AUTOPILOT_HIL_STATION $AUTOPILOT_HIL_POWER_ACTION" >> "${dir}/log"\ncase "$1" in on|off) echo "$1" > "${dir}/state-$2";; state) cat "${dir}/state-$2";; esac`);
    script('broken-pdu', 'echo "PDU 10.0.0.9 unreachable" >&2\nexit 3');
    script('slow', 'sleep 20');
    script('echo-args', `for a in "$@"; do echo "[$a]" >> "${dir}/args"; done`);
  });

  it('switches on and off, reads the state, and cycles off then on', async () => {
    const plug = join(dir, 'plug');
    const power = await openPower({ kind: 'command', on: `${plug} on b`, off: [plug, 'off', 'b'], state: `${plug} state b`, cycleDelay: 0.1 }, { station: 'b' });
    await power.on();
    expect(await power.state()).toBe('on');
    await power.off();
    expect(await power.state()).toBe('off');
    await power.cycle();
    expect(await power.state()).toBe('on');
    expect(readFileSync(join(dir, 'log'), 'utf8').trim().split('\n')).toEqual([
      'on b b on', 'state b b state', 'off b b off', 'state b b state', 'off b b force-off', 'on b b on', 'state b b state',
    ]);
  });

  it('takes the one-line form: command:ON|OFF|STATE', async () => {
    const plug = join(dir, 'plug');
    const power = await openPower(`command:${plug} on c|${plug} off c|${plug} state c`);
    await power.off();
    expect(await power.state()).toBe('off');
    expect(power.description).toContain(`on: ${plug} on c`);
  });

  it('fails with the exit code and what the command said; a hung command is stopped at its timeout', async () => {
    const power = new CommandPower({ on: [join(dir, 'broken-pdu')], off: [join(dir, 'slow')] }, { timeoutMs: 500 });
    await expect(power.on()).rejects.toThrow(/power on failed: '.*broken-pdu' exited with code 3; it said: PDU 10\.0\.0\.9 unreachable/);
    await expect(power.off()).rejects.toThrow(/power off failed: '.*slow' did not finish within 0\.5 s and was stopped/);
    const missing = new CommandPower({ on: ['/nonexistent/plug-ctl', 'on'], off: ['true'] });
    await expect(missing.on()).rejects.toThrow(/'\/nonexistent\/plug-ctl' was not found/);
    expect(await missing.state()).toBe('unknown'); // no state command: it cannot tell
  });

  it('passes arguments as they are: nothing is run by a shell', async () => {
    const power = await openPower({ kind: 'command', on: [join(dir, 'echo-args'), '$(touch pwned)', 'a b'], off: 'true' });
    await power.on();
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('[$(touch pwned)]\n[a b]\n');
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
  });
});

describe('manual power', () => {
  /** A real process whose standard input is a pipe (or nothing), asking as a bench run would. */
  function child(code: string, stdin: 'pipe' | 'ignore') {
    const file = join(mkdtempSync(join(tmpdir(), 'ahil-manual-')), 'ask.mts');
    writeFileSync(file, `import { ManualPower } from ${JSON.stringify(`${ROOT}drivers/power/manual.ts`)};\n${code}\n`);
    const proc = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => { stdout += d; });
    proc.stderr!.on('data', (d) => { stderr += d; });
    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 60_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const exit = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    return { proc, exit, waitFor, out: () => stdout, err: () => stderr };
  }

  it('asks a person on the terminal and waits for Enter, one step at a time', async () => {
    const c = child(`const p = new ManualPower({ station: 'b', timeoutMs: 60000 });
await p.on(); console.log('on:', await p.state());
await p.off(true); console.log('off:', await p.state());`, 'pipe');
    await c.waitFor(() => c.err().includes('power on station b and press Enter'), 'the first prompt');
    expect(c.out()).toBe(''); // it waits for the person
    c.proc.stdin!.write('\n');
    await c.waitFor(() => c.out().includes('on: on'), 'on');
    await c.waitFor(() => c.err().includes('power off station b (hold its power button 5 s, or pull the plug) and press Enter'), 'the second prompt');
    c.proc.stdin!.end('\n');
    expect(await c.exit).toBe(0);
    expect(c.out()).toContain('off: off');
  }, 90_000);

  it('with no one at the terminal, fails at once saying so, or waits for the file', async () => {
    const alone = child(`await new ManualPower({ station: 'c' }).on().catch((e) => { console.log(e.message); process.exit(5); });`, 'ignore');
    expect(await alone.exit).toBe(5);
    expect(alone.out()).toMatch(/power on station c: a person is needed, and no one is at the terminal \(standard input ended\)\. .*wait file/);

    const file = join(mkdtempSync(join(tmpdir(), 'ahil-manual-')), 'station-d-on');
    const withFile = child(`await new ManualPower({ station: 'd', waitFile: ${JSON.stringify(file)}, timeoutMs: 60000 }).on(); console.log('done');`, 'ignore');
    // Standard input has not ended yet when it asks: the prompt offers both.
    await withFile.waitFor(() => withFile.err().includes(`power on station d and press Enter (or create ${file})`), 'the prompt');
    writeFileSync(file, '');
    expect(await withFile.exit).toBe(0);
    expect(withFile.out()).toContain('done');
    expect(existsSync(file)).toBe(false); // used up, so it does not answer the next question
  }, 90_000);

  it('gives up after its timeout with a clear message', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const power = new ManualPower({ station: 'e', input, output, timeoutMs: 1000, pollMs: 50 });
    await expect(power.cycle()).rejects.toThrow(/power station e off and on again: waited 1 s for Enter, and no one answered/);
    expect(output.read()?.toString()).toContain('power station e off and on again and press Enter');
  });
});

describe('uhubctl', () => {
  it('says what to do when uhubctl is missing', async () => {
    const power = new UhubctlPower({ location: '1-1', port: 2, command: 'uhubctl-is-not-here' });
    await expect(power.on()).rejects.toThrow(/power on through uhubctl failed: the program 'uhubctl-is-not-here' is not installed: install it \(Debian\/Ubuntu: sudo apt-get install uhubctl/);
  });

  it('says there is no smart hub where the spec points (this machine has no USB bus)', async () => {
    const power = await openPower('uhubctl:1-1:2');
    expect(power.description).toBe('USB hub port power (uhubctl, hub 1-1 port 2)');
    await expect(power.off()).rejects.toThrow(
      /power off through uhubctl failed: no USB hub with per-port power switching at location 1-1 \(uhubctl said: No compatible devices detected.*\)\. Run `uhubctl` with no arguments to list the smart hubs/,
    );
  });
});

describe('power specs', () => {
  it('accepts every form, as a string and as a mapping', () => {
    expect(parsePowerSpec('board')).toEqual({ kind: 'board' });
    expect(parsePowerSpec('manual:/tmp/on')).toEqual({ kind: 'manual', waitFile: '/tmp/on' });
    expect(parsePowerSpec('uhubctl:2-1.4:3')).toEqual({ kind: 'uhubctl', location: '2-1.4', port: 3 });
    expect(parsePowerSpec('pikvm:https://kvm-b,insecure,user-env=KVM_B_USER,password-env=KVM_B_PASS')).toEqual({
      kind: 'pikvm', pikvm: { url: 'https://kvm-b', insecureTls: true, userEnv: 'KVM_B_USER', passwordEnv: 'KVM_B_PASS' },
    });
    expect(parsePowerSpec('command:plug on "station b"|plug off "station b"')).toEqual({
      kind: 'command', commands: { on: ['plug', 'on', 'station b'], off: ['plug', 'off', 'station b'] },
    });
    expect(parsePowerSpec({ kind: 'uhubctl', location: '1-1', port: 2, timeout: 5 })).toMatchObject({ kind: 'uhubctl', port: 2, timeoutMs: 5000 });
    expect(parsePowerSpec({ kind: 'pikvm', url: 'https://kvm-b', passwordEnv: 'KVM_B_PASS' })).toMatchObject({ kind: 'pikvm', pikvm: { passwordEnv: 'KVM_B_PASS' } });
  });

  it('names the field that is wrong, inside a bench file\'s schema too', () => {
    const bench = z.object({ stations: z.array(z.object({ name: z.string(), power: powerSpecSchema.optional() })) });
    const result = bench.safeParse({ stations: [{ name: 'a', power: 'board' }, { name: 'b', power: { kind: 'uhubctl', location: '1-1', port: 0 } }] });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([expect.stringMatching(/^stations\.1\.power\.port: .*>=1/)]);
    const typo = bench.safeParse({ stations: [{ name: 'c', power: { kind: 'command', on: 'plug on', of: 'plug off' } }] });
    expect(typo.error!.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['stations.0.power.off']));
    expect(() => parsePowerSpec({ kind: 'smart-plug' })).toThrow(/power kind: kind must be one of board, uhubctl, pikvm, command, manual/);
    expect(() => parsePowerSpec('uhubctl:1-1')).toThrow(/expected uhubctl:LOCATION:PORT/);
    expect(() => parsePowerSpec('relay:3')).toThrow(/power 'relay:3': is not understood; accepted forms: board; uhubctl:/);
    expect(() => parsePowerSpec('command:plug on')).toThrow(/expected command:ON COMMAND\|OFF COMMAND/);
    expect(() => parsePowerSpec({ kind: 'pikvm', url: 'https://kvm', userEnv: 'my user' })).toThrow(/power userEnv: must be an environment variable name/);
  });

  it('keeps credentials out of specs: a PiKVM URL with a password is refused without repeating it', () => {
    let error: Error | null = null;
    try {
      parsePowerSpec('pikvm:https://admin:hunter2@kvm-b');
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(PowerSpecError);
    expect(error!.message).toMatch(/must not carry a user or password; put them in environment variables \(AUTOPILOT_HIL_PIKVM_USER, AUTOPILOT_HIL_PIKVM_PASSWORD/);
    expect(error!.message).not.toContain('hunter2');
  });
});
