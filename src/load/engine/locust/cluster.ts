import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DbtuneError } from '../../../errors.js';
import { registerCleanup } from '../../../process/cleanups.js';
import { stopProcessSync } from '../../../process/stop-process-sync.js';
import type { LocustInstall } from './install.js';
import type { LiveReport, PeriodReport } from './period-report.js';

/**
 * One Locust master and its local workers, as child processes of dbtune, and
 * the control connection to the master (the master's locustfile connects to
 * a loopback port dbtune listens on; one JSON object per line each way).
 * Every child is registered with the process cleanups and stopped by its PID
 * on every way out; each runs in its own process group, so a Ctrl-C in the
 * terminal reaches dbtune only, which ends the stage and reports it first.
 */

export interface ClusterOptions {
  locust: LocustInstall;
  locustfile: string;
  /** Worker processes started here (0 when every worker is remote). */
  localWorkers: number;
  /** Workers to wait for before the first period: local plus remote. */
  expectWorkers: number;
  /** How long to wait for them, ms. */
  workersTimeoutMs: number;
  /** Where the master listens for workers. */
  bindHost: string;
  bindPort: number;
  /** Locust's --stop-timeout, s: users stopped at the end finish the request they sent. */
  stopTimeoutS: number;
  cwd: string;
}

/** A period the master runs: users, how they are reached, how long, and the measured stage it is (or none). */
export interface PeriodCommand {
  period: number;
  users: number;
  /** Users per second while reaching `users` (a ramp); absent: all at once. */
  spawn_rate?: number;
  duration_ms: number;
  stage: number | null;
}

type Message = { event: string } & Record<string, unknown>;

const TAIL_LINES = 20;

export class LocustCluster {
  /** Proves the control connection is the master this run started (DBTUNE_CONTROL_TOKEN). */
  private readonly token = randomBytes(16).toString('hex');
  private readonly children: ChildProcess[] = [];
  private readonly unregister: Array<() => void> = [];
  private readonly tails = new Map<ChildProcess, string[]>();
  private socket: Socket | undefined;
  private buffered = '';
  private readonly inbox: Message[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly server: Server,
  ) {}

  /** Starts the master and the local workers; resolves once `expectWorkers` workers are connected. */
  static async start(options: ClusterOptions): Promise<LocustCluster> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const cluster = new LocustCluster(options, server);
    try {
      await cluster.startProcesses();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** PIDs of the local workers (for their CPU time). */
  get workerPids(): number[] {
    return this.children.slice(1).flatMap((c) => (c.pid !== undefined && c.exitCode === null && c.signalCode === null ? [c.pid] : []));
  }

  private async startProcesses(): Promise<void> {
    const { options } = this;
    const control = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    const connected = new Promise<Socket>((resolve) => {
      this.server.on('connection', (socket: Socket) => {
        // The first connection is the control connection; any other is closed at once. Nothing
        // would read it, and one left open (its data unread) keeps server.close() from ever
        // returning: the event loop would then empty and dbtune exit 0 with no report.
        if (this.socket || this.closed) return void socket.destroy();
        this.socket = socket;
        // A reset (the master killed mid-message) must end the run as an error of its own, not crash it.
        socket.on('error', (error) => this.fail(new DbtuneError('INTERNAL', `the Locust master's control connection failed: ${error.message}`)));
        resolve(socket);
      });
    });
    const master = this.spawnChild('master', ['--master', '--headless', '--master-bind-host', options.bindHost, '--master-bind-port', String(options.bindPort), '--expect-workers', '0', '--stop-timeout', String(options.stopTimeoutS)], control);
    // The workers start beside the master (Python's start-up takes a second each): their first
    // message waits in ZeroMQ's queue until the master listens.
    for (let i = 0; i < options.localWorkers; i++) {
      const host = options.bindHost === '0.0.0.0' || options.bindHost === '*' ? '127.0.0.1' : options.bindHost;
      this.spawnChild(`worker ${i + 1}`, ['--worker', '--master-host', host, '--master-port', String(options.bindPort)]);
    }
    const socket = await this.until(connected, 'the Locust master did not start', master);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => this.fail(new DbtuneError('INTERNAL', 'the Locust master closed its control connection')));
    // The control port is on loopback, where any local user may connect first: only the master
    // dbtune started knows this run's token, so no one else can feed the run results.
    const hello = await this.next(['hello']);
    if (hello.token !== this.token) throw new DbtuneError('INTERNAL', 'the first connection to the Locust control port was not the master dbtune started (wrong token): stopping');
    this.send({ op: 'workers', count: options.expectWorkers, timeout_ms: options.workersTimeoutMs });
    const ready = await this.next(['workers'], options.workersTimeoutMs + 30_000);
    if (ready.ok !== true) {
      const localDead = options.localWorkers > 0 && this.children.slice(1).every((c) => c.exitCode !== null || c.signalCode !== null);
      throw new DbtuneError('CONNECTION_FAILED', `${ready.connected} of ${ready.expected} Locust workers connected to the master at ${options.bindHost}:${options.bindPort} within ${Math.round(options.workersTimeoutMs / 1000)} s${localDead ? `; the local workers exited: ${this.tailOf(this.children[1]!)}` : ''}`, {
        hint: options.localWorkers < options.expectWorkers ? 'start the remote workers with the command in the README --export-locustfile writes, pointing at this machine' : 'see the workers\' error above',
      });
    }
  }

  /** Runs one period and returns the master's report of it; `onLive` gets the workers' figures so far, about every second. */
  async period(command: PeriodCommand, onLive?: (live: LiveReport) => void): Promise<PeriodReport> {
    this.send({ op: 'period', ...command });
    await this.next(['started'], 60_000);
    const deadline = Date.now() + command.duration_ms + 120_000;
    for (;;) {
      const message = await this.next(['live', 'period'], Math.max(1, deadline - Date.now()));
      if (message.event === 'period') return message as unknown as PeriodReport;
      onLive?.(message as unknown as LiveReport);
    }
  }

  /** Ends the running period now (Ctrl-C): the master pauses the users and reports what they recorded. */
  endPeriod(): void {
    if (this.socket && !this.socket.destroyed) this.send({ op: 'end' });
  }

  /** Quits the master (which quits its workers), then stops whatever is left by its PID. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.socket && !this.socket.destroyed) {
      try {
        this.send({ op: 'quit' });
      } catch {
        // The master is gone already.
      }
    }
    // The workers quit within a moment of the master's "quit"; the master then spends seconds on
    // Locust's own shutdown (stats tables dbtune does not read): it gets half a second, then SIGTERM.
    const [master, ...workers] = this.children;
    await Promise.all(workers.map((child) => exited(child, 5000)));
    if (master) await exited(master, 500);
    for (const child of this.children) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) stopProcessSync(child.pid, 'SIGTERM', 3000);
    for (const unregister of this.unregister) unregister();
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private spawnChild(what: string, args: string[], control?: string): ChildProcess {
    const { options } = this;
    const child = spawn(options.locust.path, ['-f', options.locustfile, '--loglevel', 'WARNING', ...args], {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...(control ? { DBTUNE_CONTROL: control, DBTUNE_CONTROL_TOKEN: this.token } : {}) },
    });
    this.children.push(child);
    const tail: string[] = [];
    this.tails.set(child, tail);
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) tail.push(line);
      tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (error) => this.fail(new DbtuneError('LOAD_ENGINE_UNAVAILABLE', `cannot start the Locust ${what}: ${error.message}`)));
    if (child.pid !== undefined) {
      const pid = child.pid;
      // Only while the child runs: once it has exited and been reaped, its pid may be another process's.
      const running = () => child.exitCode === null && child.signalCode === null;
      this.unregister.push(registerCleanup({ what: () => `Locust ${what} (pid ${pid})`, run: () => void (running() && stopProcessSync(pid, 'SIGTERM', 3000)) }));
    }
    if (what === 'master') child.on('exit', () => this.fail(new DbtuneError('INTERNAL', `the Locust master exited: ${this.tailOf(child)}`)));
    return child;
  }

  private tailOf(child: ChildProcess): string {
    const tail = this.tails.get(child) ?? [];
    return tail.length ? tail.slice(-5).join(' | ') : `exit code ${child.exitCode ?? child.signalCode}`;
  }

  private async until<T>(promise: Promise<T>, what: string, child: ChildProcess): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DbtuneError('LOAD_ENGINE_UNAVAILABLE', `${what} within 60 s: ${this.tailOf(child)}`)), 60_000);
          child.once('exit', () => setTimeout(() => reject(new DbtuneError('LOAD_ENGINE_UNAVAILABLE', `${what}: ${this.tailOf(child)}`)), 100));
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private send(message: object): void {
    this.socket?.write(`${JSON.stringify(message)}\n`);
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      if (line.trim()) this.inbox.push(JSON.parse(line) as Message);
    }
    this.wake?.();
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failure ??= error;
    this.wake?.();
  }

  /** The next message of these kinds (others before it are dropped); an `error` message or a dead master rejects. */
  private async next(events: string[], timeoutMs = 60_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    const event = events.join(' or ');
    for (;;) {
      const index = this.inbox.findIndex((m) => events.includes(m.event) || m.event === 'error');
      if (index >= 0) {
        const [message] = this.inbox.splice(0, index + 1).slice(-1) as [Message];
        if (message.event === 'error') throw new DbtuneError('INTERNAL', `the Locust master failed: ${String(message.message)}`);
        return message;
      }
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new DbtuneError('INTERNAL', `the Locust master sent no ${event} message within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
