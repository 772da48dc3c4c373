// Builds and starts the real Xianfeng server on embedded defaults (SQLite in a temporary
// directory, embedded Redis, the WeChat mock) on a free port, for the SDK's tests.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root (this file runs from build-test/test/ under miniprogram-api/sdk). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

/** A running server. */
export interface Server {
  baseURL: string;
  /** Runs `server bootstrap -name <name>` on the server's database; answers the claim code. */
  bootstrap(name: string): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const l = net.createServer();
    l.on('error', reject);
    l.listen(0, '127.0.0.1', () => {
      const addr = l.address() as net.AddressInfo;
      l.close(() => resolve(addr.port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url + '/healthz');
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not answer /healthz within 60 s:\n${output()}`);
}

/**
 * Builds ./server (or uses XF_SERVER_BIN) and starts it. `env` adds APP_* settings.
 */
export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xf-sdk-'));
  let bin = process.env.XF_SERVER_BIN ?? '';
  if (!bin) {
    bin = path.join(dir, 'server');
    execFileSync('go', ['build', '-o', bin, './server'], { cwd: repoRoot, stdio: 'inherit' });
  }
  const port = await freePort();
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ENV: 'development',
    APP_HTTP_ADDR: `127.0.0.1:${port}`,
    APP_ADMIN_ADDR: 'off',
    APP_DATABASE_URL: `sqlite:${path.join(dir, 'xf.db')}`,
    APP_LOG_LEVEL: 'warn',
    ...env,
  };
  for (const k of ['APP_CONFIG', 'APP_REDIS_URL', 'APP_REDIS_ADDRS']) delete fullEnv[k];
  let out = '';
  const child = spawn(bin, ['serve'], { cwd: dir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const baseURL = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(baseURL, child, () => out);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    baseURL,
    bootstrap(name: string): string {
      const text = execFileSync(bin, ['bootstrap', '-name', name], { cwd: dir, env: fullEnv }).toString();
      const m = /One-time claim code: (\S+)/.exec(text);
      if (!m) throw new Error(`bootstrap printed no claim code:\n${text}`);
      return m[1];
    },
    stop(): Promise<void> {
      return new Promise((resolve) => {
        if (child.exitCode !== null) {
          fs.rmSync(dir, { recursive: true, force: true });
          return resolve();
        }
        child.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}
