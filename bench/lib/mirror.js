'use strict'
// The `mirror` groups: `dynpack mirror` between two docker-registry
// instances on 127.0.0.1 (both plain HTTP) against skopeo, each repetition
// into a fresh destination prefix so that nothing is already there.
//
// `mirror`: one plugin image (the backend fixture, signed, with an SBOM
// referrer; dynpack's figure includes copying both) vs `skopeo copy --all`
// of the image alone; 20 plugin images (the monorepo fixture, each signed
// with an SBOM) vs `skopeo sync` of their 20 repositories (every tag: the
// image, its `.sig` and its referrers tag, the same set dynpack copies).
// `mirror-1g` (not in the default run: `npm run bench -- --only mirror-1g`):
// peak memory while mirroring an image with a 1 GiB layer, one hop and two
// hops (`--to-dir`, then that folder `--to` the registry).

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { startRegistry, which, BLOB_INFO_CACHES, REGISTRY_BIN } = require('./push')
const { monorepoPackages } = require('./fixtures')

const PASS = 'bench'

/** What every mirror group needs: two registries, a key, the API. */
function base ({ cache, dyn }, prefix) {
  const state = { dir: null, src: null, dst: null, n: 0, api: null, key: null }
  const skopeo = which('skopeo')
  const missing = !REGISTRY_BIN ? 'docker-registry is not installed' : null
  const dynMissing = missing || dyn.skip || (dyn.cli && dyn.cli.skip)
  const skopeoMissing = missing || (skopeo ? null : 'skopeo is not installed')
  const start = async () => {
    state.dir = fs.mkdtempSync(path.join(cache, prefix))
    state.src = await startRegistry(path.join(state.dir, 'src'))
    state.dst = await startRegistry(path.join(state.dir, 'dst'))
    state.api = require(process.env.BENCH_DYNPACK_API || dyn.api || '../../lib/api.js')
    fs.mkdirSync(path.join(state.dir, 'keys'))
    const keys = await state.api.cosignGenerateKeyPair(path.join(state.dir, 'keys'), { passphrase: PASS })
    state.key = keys.privateKey
  }
  const teardown = () => {
    for (const r of [state.src, state.dst]) if (r) r.stop()
    if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true })
  }
  /** Pushes a plugin folder's image to the source as `repo:v1`, signed, with an SBOM referrer. */
  const publish = async (plugin, repo) => {
    const ref = `${state.src.host}/${repo}:v1`
    const layout = path.join(state.dir, 'layouts', repo.replace(/\//g, '_'))
    fs.mkdirSync(path.dirname(layout), { recursive: true })
    await state.api.buildOciLayout(plugin, { output: layout, tag: ref, sbom: true })
    await state.api.pushOciImage(layout, { tlsVerify: false })
    await state.api.signOciImage(ref, { key: state.key, passphrase: PASS, tlsVerify: false })
    fs.rmSync(layout, { recursive: true, force: true })
  }
  /** A dynamic-plugins.yaml naming `repos` (tag v1) at the source. */
  const config = (name, repos) => {
    const file = path.join(state.dir, name)
    fs.writeFileSync(file, ['plugins:', ...repos.flatMap((r) => [`  - package: oci://${state.src.host}/${r}:v1`, '    disabled: false']), ''].join('\n'))
    return file
  }
  const fresh = (who) => `${who}-${++state.n}`
  // skopeo remembers where it pushed a blob and would mount it from the previous run's
  // repository: start each run without that memory, as dynpack has none.
  const forgetBlobs = () => { for (const f of BLOB_INFO_CACHES) fs.rmSync(f, { force: true }) }
  const dynpack = (...args) => ({ cmd: process.execPath, args: [dyn.cli.bin, 'mirror', ...args, '--tls-verify=false', '--quiet'] })
  return { state, start, teardown, publish, config, fresh, forgetBlobs, dynpack, dynMissing, skopeoMissing }
}

function mirrorGroup ({ opt, fx, cache, dyn }) {
  const b = base({ cache, dyn }, 'mirror-')
  const { state } = b
  const many = () => monorepoPackages(fx('monorepo').dir).map((d, i) => ({ plugin: path.dirname(d), repo: `bench20/plugin-${String(i + 1).padStart(2, '0')}` }))
  const setup = async () => {
    await b.start()
    await b.publish(fx('backend').dir, 'bench/backend')
    for (const { plugin, repo } of many()) await b.publish(plugin, repo)
    state.one = b.config('one.yaml', ['bench/backend'])
    state.many = b.config('many.yaml', many().map((m) => m.repo))
    state.sync = path.join(state.dir, 'sync.yaml')
    fs.writeFileSync(state.sync, [`${state.src.host}:`, '  tls-verify: false', '  images:', ...many().map((m) => `    ${m.repo}: []`), ''].join('\n'))
  }
  return {
    id: 'mirror',
    title: 'mirror between two loopback registries',
    reps: opt.reps,
    setup,
    teardown: b.teardown,
    contenders: [
      {
        id: 'skopeo-copy-one',
        label: '`skopeo copy --all` of one image (no signature, no referrer; fresh destination)',
        baseline: true,
        skip: b.skopeoMissing,
        fixture: 'backend',
        before: b.forgetBlobs,
        spec: () => ({ cmd: 'skopeo', args: ['--insecure-policy', 'copy', '--all', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${state.src.host}/bench/backend:v1`, `docker://${state.dst.host}/${b.fresh('skopeo')}/bench/backend:v1`] }),
      },
      {
        id: 'dynpack-mirror-one',
        label: '`dynpack mirror` of one image + its signature + its SBOM referrer (fresh destination)',
        skip: b.dynMissing,
        fixture: 'backend',
        spec: (out) => b.dynpack(state.one, '--to', `${state.dst.host}/${b.fresh('dynpack')}`, '--out', path.join(out, 'config.yaml')),
      },
      {
        id: 'mirror-api-one',
        label: 'mirrorDynamicPlugins, one image + signature + SBOM (API; in-process = the mirror without node start-up)',
        vs: 'skopeo-copy-one',
        skip: b.dynMissing,
        fixture: 'backend',
        spec: () => ({ cmd: process.execPath, args: [path.join(__dirname, '..', 'ops', 'mirror.js'), state.one, `${state.dst.host}/${b.fresh('api')}`] }),
      },
      {
        id: 'skopeo-sync-20',
        label: '`skopeo sync --all` of 20 repositories (image, .sig and referrers tags; fresh destination)',
        baseline: true,
        skip: b.skopeoMissing,
        fixture: 'monorepo',
        before: b.forgetBlobs,
        spec: () => ({ cmd: 'skopeo', args: ['--insecure-policy', 'sync', '--all', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', state.sync, `${state.dst.host}/${b.fresh('skopeo-sync')}`] }),
      },
      {
        id: 'dynpack-mirror-20',
        label: '`dynpack mirror` of a config of 20 images, each with its signature and SBOM (fresh destination)',
        vs: 'skopeo-sync-20',
        skip: b.dynMissing,
        fixture: 'monorepo',
        spec: (out) => b.dynpack(state.many, '--to', `${state.dst.host}/${b.fresh('dynpack-20')}`, '--out', path.join(out, 'config.yaml')),
      },
    ],
  }
}

const GIB = 1 << 30

/**
 * An OCI layout of one image whose layer is 1 GiB of incompressible bytes
 * (a mirror copies blobs as they are, so they need not be a tar).
 */
function bigLayout (dir) {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  const blob = (bytes) => {
    const hex = crypto.createHash('sha256').update(bytes).digest('hex')
    fs.writeFileSync(path.join(dir, 'blobs', 'sha256', hex), bytes)
    return { digest: `sha256:${hex}`, size: bytes.length }
  }
  const tmp = path.join(dir, 'layer.tmp')
  const fd = fs.openSync(tmp, 'w')
  const hash = crypto.createHash('sha256')
  const chunk = Buffer.allocUnsafe(8 << 20)
  for (let n = 0; n < GIB; n += chunk.length) {
    crypto.randomFillSync(chunk)
    hash.update(chunk)
    fs.writeSync(fd, chunk)
  }
  fs.closeSync(fd)
  const layerHex = hash.digest('hex')
  fs.renameSync(tmp, path.join(dir, 'blobs', 'sha256', layerHex))
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] } })))
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: GIB }],
  })))
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }))
}

function mirror1gGroup ({ opt, cache, dyn }) {
  const b = base({ cache, dyn }, 'mirror-1g-')
  const { state } = b
  const setup = async () => {
    await b.start()
    const layout = path.join(state.dir, 'layout')
    bigLayout(layout)
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${state.src.host}/bench/big:v1`], { stdio: 'ignore' })
    fs.rmSync(layout, { recursive: true, force: true })
    await state.api.signOciImage(`${state.src.host}/bench/big:v1`, { key: state.key, passphrase: PASS, tlsVerify: false })
    state.config = b.config('big.yaml', ['bench/big'])
    state.carry = path.join(state.dir, 'carry')
  }
  // The destination's storage is emptied after each run: 1 GiB a run adds up.
  const emptyDestination = () => fs.rmSync(state.dst.data, { recursive: true, force: true })
  return {
    id: 'mirror-1g',
    title: 'mirror an image with a 1 GiB layer',
    reps: opt.reps,
    setup,
    teardown: b.teardown,
    contenders: [
      {
        id: 'skopeo-copy-1g',
        label: '`skopeo copy --all`, 1 GiB layer (fresh destination)',
        baseline: true,
        skip: b.skopeoMissing,
        fixture: 'backend',
        before: b.forgetBlobs,
        after: emptyDestination,
        spec: () => ({ cmd: 'skopeo', args: ['--insecure-policy', 'copy', '--all', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${state.src.host}/bench/big:v1`, `docker://${state.dst.host}/${b.fresh('skopeo')}/bench/big:v1`] }),
      },
      {
        id: 'dynpack-mirror-1g',
        label: '`dynpack mirror`, 1 GiB layer, one hop (fresh destination)',
        skip: b.dynMissing,
        fixture: 'backend',
        after: emptyDestination,
        spec: (out) => b.dynpack(state.config, '--to', `${state.dst.host}/${b.fresh('dynpack')}`, '--out', path.join(out, 'config.yaml')),
      },
      {
        id: 'dynpack-mirror-1g-to-dir',
        label: '`dynpack mirror --to-dir`, 1 GiB layer (first of two hops)',
        skip: b.dynMissing,
        fixture: 'backend',
        before: () => fs.rmSync(state.carry, { recursive: true, force: true }),
        spec: () => b.dynpack(state.config, '--to-dir', state.carry),
      },
      {
        id: 'dynpack-mirror-1g-from-dir',
        label: '`dynpack mirror DIR --to`, 1 GiB layer (second of two hops, fresh destination)',
        vs: 'skopeo-copy-1g',
        skip: b.dynMissing,
        fixture: 'backend',
        after: () => { emptyDestination(); fs.rmSync(state.carry, { recursive: true, force: true }) },
        spec: (out) => b.dynpack(state.carry, '--to', `${state.dst.host}/${b.fresh('dynpack-dir')}`, '--out', path.join(out, 'config.yaml')),
      },
    ],
  }
}

module.exports = { mirrorGroup, mirror1gGroup }
