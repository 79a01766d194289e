// A scratch folder per test file with HOME inside it, and none of the
// machine's keychain variables: registry tests must never read (or write)
// the developer's auth files, certs.d or proxies.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { before, after } from 'node:test'
import { tempDir } from './tree.mjs'

export const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']
const KEYCHAIN_VARS = ['XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG']

/**
 * Registers before/after hooks that make `scratch.root` (a new temporary
 * folder), point HOME at `root/home` and unset the keychain variables (and
 * `unset`), then restore them and remove the folder. `scratch.fresh(name)`
 * names a new path under root.
 */
export function scratchHome (prefix, { unset = [] } = {}) {
  const vars = [...KEYCHAIN_VARS, ...unset]
  const saved = {}
  let counter = 0
  const scratch = {
    root: undefined,
    fresh: (name) => path.join(scratch.root, `${name}-${++counter}`),
  }
  before(() => {
    scratch.root = tempDir(prefix)
    for (const k of ['HOME', ...vars]) saved[k] = process.env[k]
    setHome(path.join(scratch.root, 'home'))
    for (const k of vars) delete process.env[k]
  })
  after(() => {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
    fs.rmSync(scratch.root, { recursive: true, force: true })
  })
  return scratch
}

/** Points HOME at `home`, creating it. */
export function setHome (home) {
  fs.mkdirSync(home, { recursive: true })
  process.env.HOME = home
}

export const sha256 = (buf) => 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')
export const blobPath = (layout, digest) => path.join(layout, 'blobs', 'sha256', digest.slice(7))
export const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
