// Opens the byte link to the board that a HID spec names, again and again if need be: the first time, and
// each time the port vanished (an unplugged board, a ser2net that went away). A board named by USB id is
// looked up afresh each time, since it may come back as another /dev/ttyACMn.
import { describeQuery, findBoardPort, type DiscoverOptions } from '../usb/discover.ts';
import { parseHidSpec, type ByteTransport, type HidSpec } from './transport.ts';
import { SerialTransport } from './transport-serial.ts';
import { TcpTransport } from './transport-tcp.ts';

export interface LinkOpener {
  /** What is opened, for messages: "serial /dev/ttyACM0", "tcp 10.0.0.5:5000", "usb 2341:8036 …". */
  readonly description: string;
  open(): Promise<ByteTransport>;
}

export interface LinkOpenerOptions {
  baudRate?: number;
  connectTimeoutMs?: number;
  /** Where to look for USB boards (tests give a folder shaped like sysfs). */
  discover?: DiscoverOptions;
}

export function linkOpener(spec: string | HidSpec, options: LinkOpenerOptions = {}): LinkOpener {
  const where = typeof spec === 'string' ? parseHidSpec(spec) : spec;
  switch (where.kind) {
    case 'serial':
      return { description: `serial ${where.path}`, open: () => SerialTransport.open(where.path, { baudRate: options.baudRate }) };
    case 'tcp':
      return {
        description: `tcp ${where.host}:${where.port}`,
        open: () => TcpTransport.open(where.host, where.port, { connectTimeoutMs: options.connectTimeoutMs }),
      };
    case 'usb': {
      let lastPath: string | undefined;
      return {
        description: `the board with ${describeQuery(where)}`,
        open: async () => {
          const port = await findBoardPort(where, { ...options.discover, prefer: lastPath });
          lastPath = port.path;
          return SerialTransport.open(port.path, { baudRate: options.baudRate });
        },
      };
    }
  }
}
