'use strict'
// The `push` group: the same OCI layout (the backend fixture, built once and
// untimed) pushed to one docker-registry on 127.0.0.1 by `skopeo copy` and by
// `dynpack push`, each repetition into a fresh repository so that nothing is
// already there.

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')

const BLOB_INFO_CACHES = [
  '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
  path.join(process.env.XDG_DATA_HOME || path.join(require('node:os').homedir(), '.local', 'share'), 'containers', 'cache', 'blob-info-cache-v1.boltdb'),
]
const REGISTRY_BIN = ['/usr/bin/docker-registry'].find((p) => fs.existsSync(p))

function which (name) {
  try { return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null } catch { return null }
}

function rmiQuietly (tag) {
  try { execFileSync('podman', ['rmi', '-f', tag], { stdio: 'ignore' }) } catch {}
}

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)) })
  })
}

async function waitForPort (port, child) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`docker-registry did not start on 127.0.0.1:${port}`)
}

/**
 * Starts a docker-registry on a free 127.0.0.1 port (plain HTTP, no access
 * log), its config and storage under `dir`: `{ host, data, stop() }`.
 */
async function startRegistry (dir) {
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const config = path.join(dir, 'config.yml')
  const data = path.join(dir, 'data')
  fs.writeFileSync(config, ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${data}`,
    'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'))
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: 'ignore' })
  await waitForPort(port, child)
  return { host: `127.0.0.1:${port}`, data, stop: () => child.kill('SIGKILL') }
}

/** The group definition; `ctx` as in groups.js. */
function pushGroup ({ opt, fx, cache, dyn, node, podman, janus, ociTag, avail }) {
  const state = { host: null, registry: null, layout: null, dir: null, n: 0 }
  const skopeo = which('skopeo')
  const missing = !REGISTRY_BIN ? 'docker-registry is not installed' : null
  const setup = async () => {
    if (missing) return
    state.dir = fs.mkdtempSync(path.join(cache, 'push-'))
    state.registry = await startRegistry(path.join(state.dir, 'registry'))
    state.host = state.registry.host
    state.layout = path.join(state.dir, 'layout')
    const api = require(process.env.BENCH_DYNPACK_API || dyn.api || '../../lib/api.js')
    await api.buildOciLayout(fx('backend').dir, { output: state.layout, tag: `${state.host}/bench/backend:v1` })
  }
  const teardown = () => {
    if (state.registry) state.registry.stop()
    if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true })
  }
  const repo = (who) => `${state.host}/bench/${who}-${++state.n}:v1`
  return {
    id: 'push',
    title: 'push to a loopback registry',
    reps: opt.reps,
    setup,
    teardown,
    contenders: [
      {
        id: 'skopeo-copy',
        label: '`skopeo copy --preserve-digests oci:… docker://…` (fresh repository)',
        baseline: true,
        skip: missing || (skopeo ? null : 'skopeo is not installed'),
        fixture: 'backend',
        // skopeo remembers where it pushed a blob (blob-info cache) and would mount it from the
        // previous run's repository: start each run without that memory, as dynpack has none.
        before: () => { for (const f of BLOB_INFO_CACHES) fs.rmSync(f, { force: true }) },
        spec: () => ({ cmd: 'skopeo', args: ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${state.layout}:v1`, `docker://${repo('skopeo')}`] }),
      },
      {
        id: 'dynpack-push',
        label: '`dynpack push` (fresh repository)',
        skip: missing || dyn.skip || (dyn.cli && dyn.cli.skip),
        fixture: 'backend',
        spec: () => ({ cmd: process.execPath, args: [dyn.cli.bin, 'push', state.layout, repo('dynpack'), '--tls-verify=false', '--quiet'] }),
      },
      {
        id: 'podman-package-push',
        label: 'janus-idp `package-dynamic-plugins` (podman build) + `podman push` (fresh repository)',
        skip: missing || avail(podman, janus),
        fixture: 'backend',
        note: () => `@janus-idp/cli ${janus.version}, podman ${podman.version}`,
        before: () => rmiQuietly(ociTag),
        after: () => rmiQuietly(ociTag),
        spec: () => node('podman-package.js', janus.bin, fx('backend').dir, ociTag, `docker://${repo('podman')}`),
      },
      {
        id: 'dynpack-package-push',
        label: '`dynpack package --push` (build + push, fresh repository)',
        vs: 'podman-package-push',
        skip: missing || dyn.skip || (dyn.cli && dyn.cli.skip),
        fixture: 'backend',
        spec: (out) => ({ cmd: process.execPath, args: [dyn.cli.bin, 'package', fx('backend').dir, '--tag', repo('package'), '--push', '--tls-verify=false', '--output', path.join(out, 'layout'), '--quiet'] }),
      },
      {
        id: 'push-api',
        label: 'pushOciImage (API; in-process = the push without node startup)',
        skip: missing || dyn.skip,
        fixture: 'backend',
        spec: () => node('push.js', state.layout, repo('api')),
      },
    ],
  }
}

module.exports = { pushGroup, startRegistry, which, BLOB_INFO_CACHES, REGISTRY_BIN }
