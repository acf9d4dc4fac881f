// The `autopilot-hil` command. Each subcommand lives in its own module; this file only wires options.
import { Command, CommanderError, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { EXIT, UsageError } from './engine/errors.ts';

const program = new Command();
program
  .name('autopilot-hil')
  .description('Drives PCs through the Windows Autopilot pre-provisioning technician flow: a USB keyboard board types, an HDMI grabber watches, OCR confirms every step.')
  .version('0.1.0')
  .showHelpAfterError()
  // Bad usage exits 64 (DESIGN.md), not commander's default 1.
  .exitOverride();

program
  .command('run')
  .description('run the technician flow on a station; with no --hid and --capture, on the built-in virtual device')
  .option('--hid <spec>', 'keyboard board: serial:/dev/ttyACM0, a /dev path, tcp://HOST:PORT, or a PiKVM: pikvm:https://HOST[,insecure]')
  .option('--capture <url>', 'video: an MJPEG URL such as http://pikvm/streamer/stream')
  .option('--flow <flow>', 'win11, win10, or auto (tells them apart on screen)', 'auto')
  .option('--scenario <name|file>', 'built-in virtual device: the scenario (win11, win11-wired, win10, win10-wired, esp-failure, retry-success, no-profile, or a YAML file)')
  .option('--speed <n>', 'built-in virtual device: simulated seconds per real second')
  .addOption(new Option('--sim-serial <kind>', 'built-in virtual device: reach its board over tcp or a pseudo-terminal (needs socat)').choices(['tcp', 'pty']).default('tcp'))
  .option('--station <name>', 'the station name in the report')
  .option('--out <dir>', 'run folder for report.json, frames and logs (default runs/TIMESTAMP)')
  .option('--expect-organization <name>', 'the organization the configuration screen must show')
  .option('--expect-profile <name>', 'the deployment profile it must show')
  .option('--expect-user <upn>', 'the assigned user it must show ("" for none)')
  .option('--expect-ztdid <id>', 'the ZtdId the QR code must hold')
  .option('--expect-serial <serial>', 'the serial number the QR code must hold')
  .option('--wifi-ssid <name>', 'Wi-Fi network to join; the key comes from AUTOPILOT_HIL_WIFI_KEY')
  .option('--wifi-key <key>', 'Wi-Fi key (prefer AUTOPILOT_HIL_WIFI_KEY: it stays out of shell history)')
  .option('--retries <n>', 'Retry presses allowed on the red failure screen', '1')
  .option('--no-reseal', 'leave the device on the success screen instead of resealing it')
  .option('--timeout <s>', 'the whole run, in seconds (default from the flow: 10800)')
  .option('--esp-timeout <s>', 'the Enrollment Status Page, in seconds (default 5400)')
  .option('--calibration <file>', 'the station\'s calibration profile (from `calibrate`): corrects where the pointer is sent')
  .option('--frozen-timeout <s>', 'how long the picture may stay the same, byte for byte, before the grabber counts as hung (default 300)')
  .option('--power <spec>', "the device's power: board, uhubctl:LOCATION:PORT, pikvm:URL, command:ON|OFF[|STATE], manual; powers a dark device on at the start")
  .option('--screen-timeout <s>', 'any one screen (except the ESP), in seconds (default from the flow, per screen)')
  .addOption(new Option('--pointer <kind>', 'absolute: click the buttons OCR found; none: press them by keys only').choices(['absolute', 'none']).default('absolute'))
  .option('--allow-reset', 'press Reset on the red screen once the retries are used, then go through setup again (default: never Reset)')
  .option('--windows-key-on <screens>', 'where the five Windows-key presses go, comma-separated: entra-signin (default), oobe-region, oobe-keyboard')
  .addOption(new Option('--log-level <level>', 'how much the terminal shows').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .option('--resume <dir>', 'go on with the run in DIR after its agent died (killed, host rebooted): same options, same station; never presses Provision, Retry or Reseal twice')
  .action(async (opts) => {
    const { runCommand } = await import('./run-command.ts');
    process.exitCode = await runCommand(opts);
  });

program
  .command('classify')
  .description('read screenshots: which screen each one is, and its fields')
  .argument('<image...>', 'image files (PNG or JPEG)')
  .option('--json', 'one JSON line per image', false)
  .action(async (images: string[], opts: { json: boolean }) => {
    const { classifyFiles } = await import('./vision/classify-command.ts');
    process.exitCode = await classifyFiles(images, opts);
  });

program
  .command('keys')
  .description('send keys by hand through the board (or a PiKVM): STRING, STRINGLN, DELAY, REPEAT, chords ("GUI r", "CTRL SHIFT d"), MetaLeft*5')
  .argument('[script...]', 'script lines (quote each), or @FILE')
  .requiredOption('--hid <spec>', 'keyboard board: serial:/dev/ttyACM0, a /dev path, tcp://HOST:PORT, usb:VID:PID[:SERIAL], usb:auto, or a PiKVM: pikvm:https://HOST[,insecure]')
  .option('--layout <name>', 'keyboard layout of the device for STRING: us, uk, de, fr', 'us')
  .option('--check', 'first check the device reads the keyboard: Caps Lock on and off, seen in the LED flags')
  .option('--open-timeout <s>', 'how long to wait for the board to answer, in seconds', '10')
  .action(async (scripts: string[], opts: { hid: string; layout: string; check?: boolean; openTimeout: string }) => {
    const { keysCommand } = await import('./keys-command.ts');
    process.exitCode = await keysCommand(scripts, opts);
  });

program
  .command('doctor')
  .description('what is attached and what works: boards, grabbers, ffmpeg, OCR data; one line each')
  .option('--json', 'one JSON line per check', false)
  .option('--hid <spec>', 'also check this keyboard board (repeatable): serial:/dev/ttyACM0, tcp://HOST:PORT, usb:VID:PID, pikvm:https://HOST', (v: string, all: string[] = []) => [...all, v])
  .option('--capture <spec>', 'also check this video source (repeatable): an MJPEG URL, /dev/videoN, folder:DIR', (v: string, all: string[] = []) => [...all, v])
  .option('--bench <file>', 'also check every station of this bench file (its board and video source together)')
  .option('--timeout <s>', 'seconds to wait for each board to answer and each source to send a frame', '5')
  .action(async (opts) => {
    const { doctorCommand } = await import('./doctor-command.ts');
    process.exitCode = await doctorCommand(opts);
  });

program
  .command('calibrate')
  .description('measure a station (picture geometry, key-to-screen latency, pointer aim) and write calibration/NAME.json')
  .option('--station <name>', 'the station to calibrate (from --bench), or the name of the profile to write')
  .option('--bench <file>', 'bench file that names the station')
  .option('--hid <spec>', 'keyboard board, when no bench file is given')
  .option('--capture <spec>', 'video source, when no bench file is given')
  .option('--out <dir>', 'folder for the calibration profile (default: calibration/, beside the bench file with --bench)')
  .option('--rounds <n>', 'key presses there and back to time', '3')
  .option('--timeout <s>', 'seconds a key or a pointer move may take to show', '10')
  .action(async (opts) => {
    const { calibrateCommand } = await import('./calibrate-command.ts');
    process.exitCode = await calibrateCommand(opts);
  });

const bench = program.command('bench').description('many stations at once from a bench file');
bench
  .command('run')
  .description('run every station of a bench file at once')
  .argument('<bench>', 'bench file (YAML)')
  .option('--stations <names>', 'only these stations, comma-separated')
  .option('--out <dir>', 'bench run folder (default runs/bench-TIMESTAMP)')
  .option('--resume <dir>', 'go on with the bench run in DIR after its process stopped: finished stations are kept, unfinished ones go on from their journals (never pressing Provision, Retry or Reseal twice)')
  .addOption(new Option('--log-level <level>', 'how much the terminal shows').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .action(async (file: string, opts) => {
    const { benchRunCommand } = await import('./bench/bench-command.ts');
    process.exitCode = await benchRunCommand(file, opts);
  });
bench
  .command('status')
  .description('station health (good, bad, maintenance) and the last result of each station')
  .argument('<bench>', 'bench file (YAML)')
  .option('--json', 'JSON instead of a table', false)
  .option('--set <name=state...>', 'set a station\'s health by hand: maintenance (the bench leaves it alone), good or bad; e.g. --set b=maintenance:"grabber replaced"')
  .action(async (file: string, opts) => {
    const { benchStatusCommand } = await import('./bench/bench-command.ts');
    process.exitCode = await benchStatusCommand(file, opts);
  });

// The virtual device is a separate program; the agent only starts it, it never imports it.
program.command('sim', 'serve the virtual device: serial HID on a pseudo-terminal or TCP, video over HTTP', {
  executableFile: fileURLToPath(new URL('../bin/autopilot-hil-sim.js', import.meta.url)),
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else if (err instanceof UsageError) {
    process.stderr.write(`autopilot-hil: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`autopilot-hil: ${(err as Error).stack ?? err}\n`);
    process.exitCode = EXIT.infrastructure;
  }
}
