// A HID spec (from --hid or a bench file) to a keyboard and pointer: the serial board (serial:, /dev/…, tcp://,
// usb:) or a PiKVM over HTTP (pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR]).
import { UsageError } from '../errors.ts';
import { PikvmSpecError, parsePikvmSpec } from './pikvm-api.ts';
import { openPikvmHid, type PikvmHidOptions } from './pikvm.ts';
import { openHid, type OpenHidOptions } from './serial-board.ts';
import { parseHidSpec } from './transport.ts';
import type { HidDevice } from './types.ts';

export interface OpenHidDeviceOptions extends OpenHidOptions {
  pikvm?: PikvmHidOptions;
}

export function isPikvmSpec(spec: string): boolean {
  return /^pikvm:/i.test(spec.trim());
}

/** Checks that a spec can name a keyboard at all (a serial board or a PiKVM): throws what is wrong with it. */
export function checkHidSpec(spec: string): void {
  if (isPikvmSpec(spec)) parsePikvmSpec(spec);
  else parseHidSpec(spec);
}

/** Opens the keyboard and pointer that `spec` names; a PiKVM spec that is wrong is a usage error. */
export async function openHidDevice(spec: string, opts: OpenHidDeviceOptions = {}): Promise<HidDevice> {
  if (!isPikvmSpec(spec)) return openHid(spec, opts);
  try {
    return await openPikvmHid(spec.trim(), { ...(opts.layout ? { layout: opts.layout } : {}), ...opts.pikvm });
  } catch (error) {
    throw error instanceof PikvmSpecError ? new UsageError(`hid: ${error.message}`) : error;
  }
}
