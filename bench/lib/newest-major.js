/**
 * The newest PostgreSQL major with binaries installed (pg-server-<major> aliases or the platform
 * package), given dist/db/embedded-server.js's `resolveBinaries`.
 */
export function newestMajor(resolveBinaries) {
  for (let major = 30; major >= 13; major--) {
    try {
      return resolveBinaries(major).major;
    } catch {
      // Not installed: try the next one down.
    }
  }
  return undefined;
}
