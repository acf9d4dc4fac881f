// A client of PiKVM's HTTP API (kvmd, docs.pikvm.org/api), shared by the PiKVM keyboard/pointer, capture and
// ATX power drivers. Each request carries X-KVMD-User and X-KVMD-Passwd; the credentials come from environment
// variables (never a file, a URL or a log). A PiKVM ships a self-signed certificate: HTTPS accepts it only when
// asked to (`insecure` in the spec, insecureTls in a bench file). Answers are {"ok", "result"}; an error's
// result has "error" and "error_msg", which the thrown message quotes.
import http from 'node:http';
import https from 'node:https';

export const DEFAULT_USER_ENV = 'AUTOPILOT_HIL_PIKVM_USER';
export const DEFAULT_PASSWORD_ENV = 'AUTOPILOT_HIL_PIKVM_PASSWORD';

/** Where a PiKVM is and how to log in, as a spec or a bench file says it. */
export interface PikvmConfig {
  /** http(s)://host[:port][/prefix] of the PiKVM's web server. */
  url: string;
  /** The environment variables holding the user and the password (defaults AUTOPILOT_HIL_PIKVM_USER/_PASSWORD). */
  userEnv?: string;
  passwordEnv?: string;
  /** Accept a self-signed certificate (a PiKVM's default one). */
  insecureTls?: boolean;
}

const SPEC_FORM = 'pikvm:https://HOST[,insecure][,user-env=VAR][,password-env=VAR]';

/** A PiKVM spec or config that is wrong (bad input, not a failing PiKVM). */
export class PikvmSpecError extends Error {}

/**
 * Parses `pikvm:https://kvm-b[,insecure][,user-env=VAR][,password-env=VAR]`; a driver may take more flags
 * (`extra`, e.g. the capture's `snapshots=FPS`), returned in `flags`.
 */
export function parsePikvmSpec(rawSpec: string, extra: string[] = []): PikvmConfig & { flags: Record<string, string> } {
  const text = rawSpec.trim();
  const spec = redactSpec(rawSpec); // for messages: a password typed into the URL by mistake is not repeated
  const form = `${SPEC_FORM}${extra.map((e) => `[,${e}]`).join('')}`;
  if (!/^pikvm:/i.test(text)) throw new PikvmSpecError(`'${spec}' is not a PiKVM spec; expected ${form}`);
  const [url, ...flags] = text.slice('pikvm:'.length).split(',');
  const config: PikvmConfig & { flags: Record<string, string> } = { url: url.trim(), flags: {} };
  for (const flag of flags.map((f) => f.trim()).filter(Boolean)) {
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const value = eq < 0 ? undefined : flag.slice(eq + 1);
    if (name === 'insecure' && value === undefined) config.insecureTls = true;
    else if (name === 'user-env' && value) config.userEnv = value;
    else if (name === 'password-env' && value) config.passwordEnv = value;
    else if (extra.some((e) => e.split('=')[0] === name)) config.flags[name] = value ?? '';
    else throw new PikvmSpecError(`PiKVM spec '${spec}': '${flag}' is not understood; expected ${form}`);
  }
  checkPikvmConfig(config, `PiKVM spec '${spec}'`);
  return config;
}

/** The spec with any password in its URL masked. */
export function redactSpec(spec: string): string {
  return spec.replace(/(\/\/[^/@:\s]*):[^/@\s]*@/, '$1:***@');
}

/** Throws when the URL is not an http(s) URL, carries credentials, or a variable name is not one. */
export function checkPikvmConfig(config: PikvmConfig, where = 'PiKVM'): URL {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new PikvmSpecError(`${where}: '${redactSpec(config.url)}' is not a URL; expected http(s)://HOST of the PiKVM`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PikvmSpecError(`${where}: '${redactSpec(config.url)}' is not an http(s) URL`);
  if (url.username || url.password) {
    throw new PikvmSpecError(`${where}: the URL must not carry a user or password; put them in environment variables (${DEFAULT_USER_ENV}, ${DEFAULT_PASSWORD_ENV}, or the ones named by user-env/password-env)`);
  }
  for (const name of [config.userEnv, config.passwordEnv]) {
    if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new PikvmSpecError(`${where}: '${name}' is not an environment variable name`);
  }
  return url;
}

export class PikvmApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export interface PikvmClientOptions {
  /** Each request's time limit (default 10 s). */
  timeoutMs?: number;
  /** The environment to read the credentials from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class PikvmClient {
  /** "PiKVM https://kvm-b": no credentials in it. */
  readonly description: string;
  readonly base: URL;
  readonly insecureTls: boolean;
  private readonly user: string | undefined;
  private readonly password: string | undefined;
  private readonly userEnv: string;
  private readonly passwordEnv: string;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;

  constructor(config: PikvmConfig, opts: PikvmClientOptions = {}) {
    this.base = checkPikvmConfig(config);
    const env = opts.env ?? process.env;
    this.userEnv = config.userEnv ?? DEFAULT_USER_ENV;
    this.passwordEnv = config.passwordEnv ?? DEFAULT_PASSWORD_ENV;
    this.user = env[this.userEnv];
    this.password = env[this.passwordEnv];
    this.insecureTls = config.insecureTls ?? false;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.description = `PiKVM ${this.base.origin}${this.base.pathname.replace(/\/+$/, '')}`;
    // Keep-alive: a typed text is one request a key.
    this.agent = this.base.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: !this.insecureTls })
      : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** The headers that log in (for the MJPEG stream); never printed. */
  authHeaders(): Record<string, string> {
    if (this.user === undefined) return {};
    return { 'X-KVMD-User': this.user, 'X-KVMD-Passwd': this.password ?? '' };
  }

  /** Full URL of an API path (no credentials in it). */
  urlOf(path: string, query: Record<string, string | number | boolean> = {}): URL {
    const url = new URL(this.base.href.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    return url;
  }

  /** A JSON request; resolves with its `result`. */
  async call<T = unknown>(method: 'GET' | 'POST', path: string, query: Record<string, string | number | boolean> = {}, body?: string): Promise<T> {
    const { status, data } = await this.request(method, path, query, body, 'application/json');
    let parsed: { ok?: boolean; result?: unknown };
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch {
      throw new PikvmApiError(`${this.description}: ${method} ${path} answered HTTP ${status} with something that is not JSON; is this a PiKVM?`, status);
    }
    if (status !== 200 || parsed.ok !== true) throw this.refusal(method, path, status, parsed.result);
    return parsed.result as T;
  }

  /** A request for bytes (a snapshot); resolves with them and their content type. */
  async bytes(path: string, query: Record<string, string | number | boolean> = {}): Promise<{ contentType: string; data: Buffer }> {
    const { status, data, contentType } = await this.request('GET', path, query, undefined, 'image/jpeg');
    if (status !== 200) {
      let result: unknown;
      try { result = JSON.parse(data.toString('utf8')).result; } catch { result = undefined; }
      throw this.refusal('GET', path, status, result);
    }
    return { contentType, data };
  }

  close(): void {
    this.agent.destroy();
  }

  /** What went wrong, in words a technician can act on. */
  refusal(method: string, path: string, status: number, result: unknown): PikvmApiError {
    const r = (result ?? {}) as { error?: string; error_msg?: string };
    const said = r.error ? ` (${r.error}${r.error_msg ? `: ${r.error_msg}` : ''})` : '';
    if (status === 401) {
      return new PikvmApiError(
        `${this.description} asks for credentials (401 Unauthorized): set the environment variables ${this.userEnv} and ${this.passwordEnv}` +
          (this.user === undefined ? ` (${this.userEnv} is not set)` : ''), status);
    }
    if (status === 403) {
      return new PikvmApiError(`${this.description} refused the user '${this.user ?? ''}' from ${this.userEnv} (403 Forbidden): wrong user or password in ${this.userEnv}/${this.passwordEnv} (with 2FA, append the one-time code to the password)`, status);
    }
    if (status === 409) return new PikvmApiError(`${this.description}: ${method} ${path} was refused because it is busy${said}; try again`, status);
    return new PikvmApiError(`${this.description}: ${method} ${path} failed with HTTP ${status}${said}`, status);
  }

  private request(method: string, path: string, query: Record<string, string | number | boolean>, body: string | undefined, accept: string):
    Promise<{ status: number; data: Buffer; contentType: string }> {
    const url = this.urlOf(path, query);
    const client = url.protocol === 'https:' ? https : http;
    const where = `${this.description}: ${method} ${path}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: accept, ...this.authHeaders() };
      if (body !== undefined) {
        headers['Content-Type'] = 'text/plain; charset=utf-8';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = client.request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => reject(new PikvmApiError(`${where} failed: ${this.explain(error)}`, 0)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, data: Buffer.concat(chunks), contentType: String(res.headers['content-type'] ?? '') }));
        res.on('error', (error) => reject(new PikvmApiError(`${where}: the answer broke off: ${error.message}`, 0)));
      });
      req.end(body);
    });
  }

  private explain(error: NodeJS.ErrnoException): string {
    const code = error.code ?? '';
    if (/SELF_SIGNED|UNABLE_TO_VERIFY|CERT_|DEPTH_ZERO/i.test(code) || /self[- ]signed|certificate/i.test(error.message)) {
      return `its certificate is not trusted (${error.message}). A PiKVM ships a self-signed one: accept it with ',insecure' in the spec ` +
        `(pikvm:${this.base.origin},insecure) or insecureTls: true in the bench file, or give the PiKVM a trusted certificate`;
    }
    if (code === 'ECONNREFUSED') return `nothing listens at ${this.base.host} (connection refused): is it the PiKVM's address, and is kvmd running?`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name ${this.base.hostname} is not known`;
    return error.message;
  }
}
