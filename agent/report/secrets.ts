// Secrets never reach a report. The engine masks what it types, but a report is also made of what OCR read
// (a password box that shows its text, a message that echoes it): every report file goes through here.

const registered = new Set<string>();

/** Too short to be a secret worth masking: masking it would only garble ordinary words. */
const MIN_LENGTH = 4;

/** Adds a secret (a Wi-Fi key, a credential) that no report written by this process may contain. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_LENGTH) registered.add(value);
}

/** The secrets known to this process: those registered and the Wi-Fi key of the environment. */
export function knownSecrets(): string[] {
  const all = new Set(registered);
  const env = process.env.AUTOPILOT_HIL_WIFI_KEY;
  if (env && env.length >= MIN_LENGTH) all.add(env);
  // Longest first, so a secret that contains another is masked whole.
  return [...all].sort((a, b) => b.length - a.length);
}

export const MASK = '***';

export function maskText(text: string, secrets = knownSecrets()): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(MASK);
  return out;
}

/** A deep copy of a JSON value with every known secret masked in every string (keys included). */
export function maskDeep<T>(value: T, secrets = knownSecrets()): T {
  if (!secrets.length) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [maskText(k, secrets), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
