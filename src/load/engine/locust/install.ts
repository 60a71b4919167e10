import { execFileSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { DbtuneError } from '../../../errors.js';

/**
 * Which `locust` runs the load, and whether it is a version the generated
 * locustfile was tested with. The script is always run as it is (its own
 * shebang picks its Python): the `python3` first on the PATH may be another
 * interpreter without Locust.
 */

/** Locust minor versions the generated locustfile (engines/locust/locustfile.py) was tested with. */
export const TESTED_LOCUST_MINORS = ['2.12'] as const;

export const LOCUST_INSTALL_HINT = 'install Locust: `apt-get install python3-locust` (Debian, Ubuntu), or `pip install locust==2.12.1`; or name its script with --locust PATH';

export interface LocustInstall {
  /** The script run for the master and the workers. */
  path: string;
  /** As the tested version list reads it, e.g. `2.12.1`. */
  version: string;
  /**
   * Set when `locust --version` printed no version (Debian's python3-locust
   * 2.12.1): the version dpkg gave, which the locustfile makes the runners
   * send and compare (else the master rejects its own workers as "pre 2.0").
   */
  emptyVersionIs?: string;
}

/** What the version probes printed: pure input of {@link judgeLocustVersion}. */
export interface VersionProbe {
  /** stdout of `locust --version`, e.g. `locust 2.12.1` or `locust ` (Debian). */
  versionOutput: string;
  /** `dpkg-query` for the package owning the script: `python3-locust 2.12.1-1`, when there is one. */
  debianPackage?: string;
}

/** The version to report and check, or why none can be trusted. Pure. */
export function judgeLocustVersion(probe: VersionProbe): { version: string; emptyVersionIs?: string } | { problem: string } {
  const printed = /^locust\s*(\S*)/m.exec(probe.versionOutput.trim())?.[1] ?? '';
  let version = printed;
  let emptyVersionIs: string | undefined;
  if (!printed) {
    const debian = /^python3-locust\s+(\d+\.\d+\.\d+)/.exec(probe.debianPackage ?? '')?.[1];
    if (!debian) return { problem: 'it reports no version (`locust --version` printed none), and it is not a Debian python3-locust package dbtune can read one from' };
    version = debian;
    emptyVersionIs = debian;
  }
  const minor = /^(\d+\.\d+)\./.exec(version)?.[1];
  if (!minor || !(TESTED_LOCUST_MINORS as readonly string[]).includes(minor)) {
    return { problem: `it is version ${version || '(none)'}; the locustfile dbtune generates was tested with ${TESTED_LOCUST_MINORS.map((m) => `${m}.x`).join(', ')} only` };
  }
  return emptyVersionIs ? { version, emptyVersionIs } : { version };
}

/** Finds `locust` (`--locust PATH`, else on the PATH) and checks its version; exit 3 with the install command when it cannot run. */
export function findLocust(explicit: string | undefined, env: NodeJS.ProcessEnv): LocustInstall {
  // Absolute: Locust runs with the generated locustfile's directory as its working directory.
  const found = explicit ?? onPath('locust', env.PATH ?? '');
  const path = found === undefined ? undefined : resolve(found);
  if (!path || !executable(path)) {
    throw new DbtuneError('LOAD_ENGINE_UNAVAILABLE', explicit ? `--locust ${explicit}: no executable file there` : 'the locust engine needs Locust, and there is no `locust` on the PATH', { hint: LOCUST_INSTALL_HINT });
  }
  let versionOutput: string;
  try {
    versionOutput = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').at(-1);
    throw new DbtuneError('LOAD_ENGINE_UNAVAILABLE', `${path} --version failed: ${stderr || (error as Error).message}`, { hint: LOCUST_INSTALL_HINT });
  }
  const probe: VersionProbe = { versionOutput };
  if (!/^locust\s*\S/m.test(versionOutput.trim())) {
    const debianPackage = debianPackageOf(path);
    if (debianPackage) probe.debianPackage = debianPackage;
  }
  const judged = judgeLocustVersion(probe);
  if ('problem' in judged) {
    throw new DbtuneError('LOAD_ENGINE_UNAVAILABLE', `cannot use the Locust at ${path}: ${judged.problem}`, { hint: 'install Locust 2.12: `apt-get install python3-locust` (Debian 12), or `pip install locust==2.12.1`' });
  }
  return { path, ...judged };
}

function onPath(name: string, pathVariable: string): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `python3-locust <version>` when dpkg says a python3-locust package owns the script. */
function debianPackageOf(path: string): string | undefined {
  try {
    const owner = execFileSync('dpkg-query', ['-S', realpathSync(path)], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    if (!/^python3-locust:/.test(owner.trim())) return undefined;
    const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'python3-locust'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return `python3-locust ${version.trim()}`;
  } catch {
    return undefined;
  }
}
