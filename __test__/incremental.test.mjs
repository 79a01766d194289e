// package --push skips what did not change (io.dynpack.source.digest), and
// what CI pipelines ask of it: several tags, the CI labels, --load.
// Against a real docker-registry behind a counting HTTP proxy.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { tempDir, writeTree, codeLike } from './helpers/tree.mjs'
import { REGISTRY_BIN, needTools, readTar, run } from './helpers/oci.mjs'
import { startDockerRegistry, startHttpProxy } from './helpers/registries.mjs'

const api = createRequire(import.meta.url)('../lib/api.js')
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dynpack.js')
const ANNOTATION = 'io.dynpack.source.digest'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

const temps = []
function fresh (prefix) {
  const d = tempDir(`dynpack-incr-${prefix}-`)
  temps.push(d)
  return d
}
after(() => { for (const d of temps) fs.rmSync(d, { recursive: true, force: true }) })

/** Runs bin/dynpack.js without blocking this process (the proxy lives here). */
async function cli (args, { env, cwd } = {}) {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd, maxBuffer: 64 << 20 })
    return { status: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    return { status: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** A monorepo of `n` exported plugins p01…pNN. */
function monorepo (n) {
  const mono = fresh('mono')
  writeTree(mono, { 'package.json': { json: { name: 'root', private: true, workspaces: ['plugins/*'] } } })
  for (let i = 1; i <= n; i++) {
    const dir = `p${String(i).padStart(2, '0')}`
    writeTree(path.join(mono, 'plugins', dir), {
      'package.json': { json: { name: `@acme/plugin-${dir}`, version: '1.0.0', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/package.json': { json: { name: `@acme/plugin-${dir}-dynamic`, version: '1.0.0', main: 'dist/index.js', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/dist/index.js': codeLike(i, 20_000),
    })
  }
  return mono
}

async function manifestOf (host, repoTag) {
  const [repo, tag] = repoTag.split(/:(?=[^:/]+$)/)
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { Accept: MANIFEST } })
  assert.equal(r.status, 200, `${repoTag}: ${r.status}`)
  return { digest: r.headers.get('docker-content-digest'), json: await r.json() }
}

describe('package --push skips unchanged plugins', () => {
  let registry, proxy
  const requests = []
  before(async () => {
    if (!REGISTRY_BIN) return
    registry = await startDockerRegistry()
    proxy = await startHttpProxy(registry.port, { intercept: (req) => { requests.push(`${req.method} ${req.url.split('?')[0]}`); return false } })
  })
  after(async () => { proxy?.stop(); if (registry) await registry.stop() })

  /** Manifest PUTs, blob uploads (PATCH or PUT of an upload; the access check only opens one) and `GET /v2/` checks since the last call. */
  const uploads = () => {
    const seen = requests.splice(0)
    return {
      pings: seen.filter((r) => r === 'GET /v2/').length,
      manifests: seen.filter((r) => /^PUT \/v2\/.*\/manifests\//.test(r)).map((r) => r.split('/')[3]),
      blobUploads: seen.filter((r) => /^(PATCH|PUT) \/v2\/.*\/blobs\/uploads\/./.test(r)).length,
    }
  }

  test('20 plugins; one file of one changes: exactly one image uploaded; options and moved tags count as changes', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const mono = monorepo(20)
    const host = `127.0.0.1:${proxy.port}`
    const base = ['package', mono, '--tag', `${host}/acme/{dir}:{version}`, '--push', '--tls-verify=false', '--json']
    const pushRun = async (extra = []) => {
      const r = await cli([...base, ...extra])
      assert.equal(r.status, 0, r.stderr)
      const report = JSON.parse(r.stdout)
      assert.equal(report.images.length, 20)
      return { report, rebuilt: report.images.filter((i) => !i.upToDate).map((i) => i.plugins[0]), ...uploads() }
    }

    const first = await pushRun()
    assert.equal(first.rebuilt.length, 20)
    assert.equal(first.manifests.length, 20)
    const m = await manifestOf(host, 'acme/acme-plugin-p01:1.0.0')
    assert.match(m.json.annotations[ANNOTATION], /^sha256:[0-9a-f]{64}$/)
    assert.equal(m.json.annotations[ANNOTATION], first.report.images[0].sourceDigest)

    const again = await pushRun()
    assert.deepEqual(again.rebuilt, [])
    assert.deepEqual(again.manifests, [])
    assert.equal(again.blobUploads, 0)
    // the 20 tags are read in one task that checks the registry once
    assert.equal(again.pings, 1)
    // digest-pinned entries as before
    assert.deepEqual(again.report.plugins.map((p) => p.digestPackage), first.report.plugins.map((p) => p.digestPackage))
    assert.ok(again.report.images.every((i) => i.pushed && i.pushed.digest === i.manifestDigest))

    fs.appendFileSync(path.join(mono, 'plugins', 'p07', 'dist-dynamic', 'dist', 'index.js'), '\n// changed\n')
    const one = await pushRun()
    assert.deepEqual(one.rebuilt, ['acme-plugin-p07'])
    assert.deepEqual(one.manifests, ['acme-plugin-p07'])
    const p07 = one.report.images.find((i) => i.plugins[0] === 'acme-plugin-p07')
    assert.notEqual(p07.manifestDigest, first.report.images[6].manifestDigest)
    assert.equal((await manifestOf(host, 'acme/acme-plugin-p07:1.0.0')).digest, p07.manifestDigest)

    // a mode change is a change
    fs.chmodSync(path.join(mono, 'plugins', 'p08', 'dist-dynamic', 'dist', 'index.js'), 0o755)
    assert.deepEqual((await pushRun()).rebuilt, ['acme-plugin-p08'])

    // options that shape the bytes are changes
    const level = await pushRun(['--compression-level', '9'])
    assert.equal(level.rebuilt.length, 20)
    assert.deepEqual((await pushRun(['--compression-level', '9'])).rebuilt, [])
    const annotated = await pushRun(['--compression-level', '9', '--annotation', 'team=a'])
    assert.equal(annotated.rebuilt.length, 20)
    assert.equal((await manifestOf(host, 'acme/acme-plugin-p02:1.0.0')).json.annotations.team, 'a')

    // a remote tag moved to another image is a change
    const p04 = annotated.report.images.find((i) => i.plugins[0] === 'acme-plugin-p04')
    const moved = await cli(['push', p04.output, `${host}/acme/acme-plugin-p03:1.0.0`, '--tls-verify=false'])
    assert.equal(moved.status, 0, moved.stderr)
    uploads()
    const back = await pushRun(['--compression-level', '9', '--annotation', 'team=a'])
    assert.deepEqual(back.rebuilt, ['acme-plugin-p03'])
    assert.deepEqual(back.manifests, ['acme-plugin-p03'])
  })

  test('several --tag: one build, the manifest under every tag; CI labels; the revision alone is no change', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const mono = monorepo(1)
    const host = `127.0.0.1:${proxy.port}`
    const args = (rev) => ['package', path.join(mono, 'plugins', 'p01'), '--tag', `${host}/acme/one:1.0.0`, '--tag', `${host}/acme/one:latest`,
      '--revision', rev, '--expires-after', '2w', '--source-date-epoch', '1700000000', '--push', '--tls-verify=false', '--json', '--output', path.join(mono, 'oci')]
    const r = await cli(args('0123abc'))
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.deepEqual(report.images[0].extraTags, [`${host}/acme/one:latest`])
    const { manifests } = uploads()
    assert.deepEqual(manifests, ['one', 'one'])
    const a = await manifestOf(host, 'acme/one:1.0.0')
    const b = await manifestOf(host, 'acme/one:latest')
    assert.equal(a.digest, b.digest)
    assert.equal(a.digest, report.images[0].manifestDigest)
    assert.equal(a.json.annotations['org.opencontainers.image.revision'], '0123abc')
    const config = await (await fetch(`http://${host}/v2/acme/one/blobs/${a.json.config.digest}`)).json()
    const labels = config.config.Labels
    assert.equal(labels['vcs-ref'], '0123abc')
    assert.equal(labels['org.opencontainers.image.revision'], '0123abc')
    assert.equal(labels['build-date'], '2023-11-14T22:13:20Z')
    assert.equal(labels['org.opencontainers.image.created'], '2023-11-14T22:13:20Z')
    assert.equal(labels['quay.expires-after'], '2w')

    const same = await cli(args('4567def'))
    assert.equal(same.status, 0, same.stderr)
    assert.equal(JSON.parse(same.stdout).images[0].upToDate, true)
    assert.deepEqual(uploads().manifests, [])

    // --sign-key signs an up-to-date image too (it may not have been signed before)
    const keys = fresh('keys')
    await api.cosignGenerateKeyPair(keys, { passphrase: 'pw' })
    const signed = await cli([...args('4567def'), '--sign-key', path.join(keys, 'cosign.key')], { env: { COSIGN_PASSWORD: 'pw' } })
    assert.equal(signed.status, 0, signed.stderr)
    const s = JSON.parse(signed.stdout).images[0]
    assert.equal(s.upToDate, true)
    assert.ok(s.signed, signed.stderr)
    assert.equal((await manifestOf(host, `acme/one:${a.digest.replace(':', '-')}.sig`)).digest, s.signed.signatureDigest)

    const bad = await cli([...args('x'), '--expires-after', '2 weeks'])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /--expires-after "2 weeks"/)
  })
})

test('the revision labels come from the git repository holding the plugins, not from the current folder', async (t) => {
  if (!needTools(t, 'git')) return
  const mono = monorepo(1)
  const git = (...a) => run('git', ['-C', mono, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...a])
  git('init', '-q')
  git('add', '-A')
  git('commit', '-q', '-m', 'x')
  const head = git('rev-parse', 'HEAD').trim()
  const elsewhere = fresh('cwd') // not a repository
  const r = await cli(['package', path.join(mono, 'plugins', 'p01'), '--tag', 'registry.example.com/acme/one:1', '--output', path.join(elsewhere, 'oci'), '--json'], { cwd: elsewhere })
  assert.equal(r.status, 0, r.stderr)
  const img = JSON.parse(r.stdout).image
  const config = JSON.parse(fs.readFileSync(path.join(img.output, 'blobs', 'sha256', img.configDigest.slice(7)), 'utf8'))
  assert.equal(config.config.Labels['vcs-ref'], head)
  assert.equal(config.config.Labels['org.opencontainers.image.revision'], head)
})

describe('package --load', () => {
  /**
   * A stub `podman` on PATH that records its argv and what it read: podman is
   * not installed here (and its rootless storage needs user namespaces the
   * CI sandbox may not give), so the test checks dynpack's side: which tool,
   * which arguments, and that the bytes handed over are the image's
   * oci-archive (read back with a real tar reader).
   */
  function stubTool (name) {
    const dir = fresh('stub')
    const script = path.join(dir, name)
    fs.writeFileSync(script, `#!/bin/sh\necho "$@" >> "${dir}/argv"\ncase "$1 $2" in "load -i") cat "$3" > "${dir}/input";; "load ") cat > "${dir}/input";; esac\necho "Loaded image: stub"\n`, { mode: 0o755 })
    return { dir, env: { PATH: `${dir}${path.delimiter}${process.env.PATH}` } }
  }

  test('a layout is streamed to `podman load` as a tar; an archive is passed with -i', async () => {
    const mono = monorepo(1)
    const plugin = path.join(mono, 'plugins', 'p01')
    const stub = stubTool('podman')
    const r = await cli(['package', plugin, '--tag', 'quay.io/acme/one:1.0.0', '--load', '--output', path.join(mono, 'oci'), '--json'], { env: stub.env })
    assert.equal(r.status, 0, r.stderr)
    const id = JSON.parse(r.stdout).images[0].configDigest.slice(7)
    assert.deepEqual(fs.readFileSync(path.join(stub.dir, 'argv'), 'utf8').trim().split('\n'), ['load', `tag ${id} quay.io/acme/one:1.0.0`])
    fs.rmSync(path.join(stub.dir, 'argv'))
    const names = readTar(fs.readFileSync(path.join(stub.dir, 'input'))).map((e) => e.path.replace(/^\.\//, ''))
    assert.ok(names.includes('index.json') && names.includes('oci-layout'), names.join(' '))
    assert.equal(JSON.parse(r.stdout).images[0].loaded.tool, 'podman')

    const archive = path.join(mono, 'one.tar')
    const a = await cli(['package', plugin, '--tag', 'quay.io/acme/one:1.0.0', '--load', '--archive', archive], { env: stub.env })
    assert.equal(a.status, 0, a.stderr)
    assert.equal(fs.readFileSync(path.join(stub.dir, 'argv'), 'utf8').trim().split('\n')[0], `load -i ${archive}`)
    assert.deepEqual(fs.readFileSync(path.join(stub.dir, 'input')), fs.readFileSync(archive))
  })

  test('without podman or docker, --load fails naming both', async () => {
    const mono = monorepo(1)
    const empty = fresh('nopath')
    const r = await cli(['package', path.join(mono, 'plugins', 'p01'), '--tag', 'quay.io/acme/one:1.0.0', '--load', '--output', path.join(mono, 'oci')], { env: { PATH: empty } })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /E_NO_CONTAINER_TOOL: .*podman or docker/)
  })
})
