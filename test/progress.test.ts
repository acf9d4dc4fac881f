// What the terminal shows while a run goes on: on a real terminal (a pseudo-terminal here, through Python's pty
// module) one status line redrawn in place with the screen, the step, the ESP phase and item and the elapsed time,
// and plain lines for events; through a pipe, plain lines only.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_BIN, ROOT, runAgent } from './helpers/processes.ts';

const COLUMNS = 100;
const ERASE = '\r\x1b[2K';
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ahil-progress-${name}-`));

// Runs a command on the slave side of a new pseudo-terminal of COLUMNS columns and copies what it draws to stdout.
const PTY_PY = `
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 40, ${COLUMNS}, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function onTerminal(args: string[], cwd = ROOT): Promise<{ code: number | null; screen: string }> {
  const helper = join(tmp('pty'), 'on-terminal.py');
  writeFileSync(helper, PTY_PY);
  return new Promise((resolve) => {
    const child = spawn('python3', [helper, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (d) => { screen += d; });
    child.once('exit', (code) => resolve({ code, screen }));
  });
}

/** Every status line drawn: the text after an erase that starts with the status mark. */
const statusLines = (screen: string) => [...screen.matchAll(/\x1b\[2K(▶[^\r\n\x1b]*)/g)].map((m) => m[1]);

describe('progress in the terminal', () => {
  it('on a terminal: a status line redrawn in place (screen, step, ESP phase and item, elapsed), events as lines', async () => {
    const out = tmp('tty');
    const { code, screen } = await onTerminal([process.execPath, AGENT_BIN, 'run', '--scenario', 'win11-wired', '--speed', '600', '--out', out]);
    expect(code, screen.slice(-2000)).toBe(0);
    const statuses = statusLines(screen);
    expect(statuses.length, screen.slice(-2000)).toBeGreaterThan(10);
    for (const s of statuses) {
      expect(s).toMatch(/^▶ \d\d:\d\d │ /);
      // Never wider than the terminal, or redrawing in place would wrap onto a new row.
      expect(s.length, s).toBeLessThan(COLUMNS);
    }
    expect(statuses.some((s) => / │ entra-signin │ /.test(s))).toBe(true);
    expect(statuses.some((s) => / │ provisioning-config │ step #\d+ /.test(s))).toBe(true);
    const esp = statuses.filter((s) => / │ esp │ /.test(s));
    expect(esp.some((s) => / │ step #\d+ follow the ESP │ ESP Device setup › (Security policies|Certificates|Network connections|Apps)$/.test(s)), esp.join('\n')).toBe(true);
    // The clock moves while a screen stays: the same status drawn again with a later time.
    const rest = (s: string) => s.slice(8);
    expect(statuses.some((s, i) => i > 0 && rest(s) === rest(statuses[i - 1]) && s !== statuses[i - 1])).toBe(true);
    // Events are whole lines of their own, above the status line.
    expect(screen).toMatch(new RegExp(`${ERASE.replace('[', '\\[')}\\[\\d\\d:\\d\\d\\] screen esp \\(win11\\)\\r\\n`));
    expect(screen).toMatch(/\[\d\d:\d\d\] provisioning-success: press Reseal[^\r\n\x1b]*\r\n/);
    // At the end the status line is gone: the verdict lines come after the last one, and no status after them.
    const lastStatus = screen.lastIndexOf('▶');
    const tail = screen.slice(lastStatus);
    expect(tail).toMatch(/result: passed/);
    expect(tail).toContain(`passed: ${join(out, 'report.json')}`);
  }, 240_000);

  it('through a pipe: plain lines only, no cursor control, the same events', async () => {
    const out = tmp('pipe');
    const r = await runAgent(['run', '--scenario', 'win11-wired', '--speed', '600', '--out', out]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).not.toMatch(/[\x1b\r]/);
    expect(r.stderr).not.toContain('▶');
    const lines = r.stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\[\d\d:\d\d\] /);
    expect(lines).toContainEqual(expect.stringMatching(/\] screen esp \(win11\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/\] esp: Device preparation: /));
    expect(lines).toContainEqual(expect.stringMatching(/\] result: passed$/));
  }, 240_000);

  it('on a terminal, --log-level chooses: warn shows warnings only and no status line; info shows both', async () => {
    const script = join(tmp('level'), 'levels.mts');
    writeFileSync(script, `
      import { Progress } from ${JSON.stringify(join(ROOT, 'agent/engine/progress.ts'))};
      const progress = new Progress(process.argv[2] as 'warn' | 'info');
      progress.status({ screen: 'esp', step: '#7 follow the ESP', espPhase: 'Device setup', espItem: 'Apps (2 of 5 installed)' });
      progress.info('screen esp (win11)');
      progress.warn('provisioning failed with 0x800705B4: Retry 1 of 1');
      progress.close();
    `);
    const warn = await onTerminal([process.execPath, '--import', 'tsx/esm', script, 'warn']);
    expect(warn.code).toBe(0);
    expect(warn.screen).not.toContain('▶');
    expect(warn.screen).not.toContain('screen esp');
    expect(warn.screen).toMatch(/\[00:00\] provisioning failed with 0x800705B4/);
    const info = await onTerminal([process.execPath, '--import', 'tsx/esm', script, 'info']);
    expect(info.code).toBe(0);
    expect(statusLines(info.screen)).toContain('▶ 00:00 │ esp │ step #7 follow the ESP │ ESP Device setup › Apps (2 of 5 installed)');
    expect(info.screen).toContain(`${ERASE}[00:00] screen esp (win11)\r\n`);
    expect(info.screen.endsWith(ERASE)).toBe(true);
  }, 60_000);
});
