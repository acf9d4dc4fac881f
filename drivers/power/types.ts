// Power of the device under test: one narrow interface, one file per way of switching it (labgrid's PowerProtocol).

export type PowerState = 'on' | 'off' | 'unknown';

export interface Power {
  readonly description: string;
  /** Powers the device on (a short press of its power button, port power on, ATX on, or a person asked). */
  on(): Promise<void>;
  /** Powers it off; `force` holds the button long (5 s) or cuts power where the driver can. */
  off(force?: boolean): Promise<void>;
  /** Off, then on. */
  cycle(): Promise<void>;
  /** What the driver knows; 'unknown' where it cannot tell (a bare power button). */
  state(): Promise<PowerState>;
  close(): Promise<void>;
}
