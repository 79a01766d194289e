// dynpack's runtime dependencies and theirs, as tarballs packed from a checkout's node_modules:
// the offline installs of the release tests (npm --offline, a loopback verdaccio for Yarn) have
// no other source for them on a fresh machine.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const dependenciesOf = (folder) => Object.keys(JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')).dependencies ?? {})

/** The names of `root`'s `dependencies`, transitively, as installed (hoisted) in its node_modules. */
export function runtimeDependencies (root) {
  const names = new Set()
  const queue = dependenciesOf(root)
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (names.has(name)) continue
    names.add(name)
    queue.push(...dependenciesOf(path.join(root, 'node_modules', name)))
  }
  return [...names]
}

/** `Map<name, tarball path>` of runtimeDependencies(root), packed into `dir`. */
export function packRuntimeDependencies (root, dir) {
  fs.mkdirSync(dir, { recursive: true })
  return new Map(runtimeDependencies(root).map((name) => {
    const [entry] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir, path.join(root, 'node_modules', name)], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false' },
    }))
    return [name, path.join(dir, entry.filename)]
  }))
}
