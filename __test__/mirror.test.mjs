// dynpack mirror against real registries on 127.0.0.1: the source is
// docker-registry over plain HTTP, the mirror docker-registry over TLS with
// htpasswd. Images (one signed, with an SBOM referrer; one with two
// plugins), a tgz served by a local HTTP server and an npm package from
// verdaccio are mirrored; the rewritten config is read back with skopeo
// after the source is stopped, the signature verified at the mirror with the
// same key (by dynpack inspect, and by sigstore-rs on the signature skopeo
// reads back); a second run sends no blob, a run cut mid-copy completes on a
// rerun, an integrity mismatch writes nothing.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree, codeLike, npmPack } from './helpers/tree.mjs'
import { needTools, REGISTRY_BIN, run, which } from './helpers/oci.mjs'
import { startDockerRegistry, makeCa, makeLeaf, startProxy, startHttpProxy } from './helpers/registries.mjs'
import { startVerdaccio, verdaccioAvailable } from './helpers/verdaccio.mjs'

const require = createRequire(import.meta.url)
const api = require('../lib/api.js')
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dynpack.js')
const SIGSTORE_VERIFY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'tools', 'sigstore-verify', 'target', 'release', 'sigstore-verify')

/** The CLI without blocking this process (it serves the tgz). */
function cli (args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    child.once('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** The `package:` values of a config. */
const packages = (text) => [...text.matchAll(/^\s*- package: (\S+)/gm)].map((m) => m[1].replace(/^'|'$/g, ''))

const ready = () => REGISTRY_BIN && which('openssl') && which('htpasswd') && which('skopeo') && verdaccioAvailable()

describe('dynpack mirror', () => {
  let src, dest, certDir, dir, keys, verdaccio, tgzServer, tgzUrl, signed, multi, moved, npmEntry, tgzIntegrity
  const CREDS = 'alice:s3cret'
  const PASS = 'mirror pw'
  const destSide = () => ({ creds: CREDS, certDir })
  const srcSide = { tlsVerify: false }

  const plugin = (name, bytes = 4000) => {
    const d = path.join(dir, 'plugins', name)
    writeTree(d, {
      'package.json': { json: { name: `@acme/${name}-dynamic`, version: '1.0.0', backstage: { role: 'backend-plugin' } } },
      'dist/index.js': codeLike(name.length, 3000),
    })
    // incompressible bytes, so that a cut after 1 MB is mid-layer
    fs.writeFileSync(path.join(d, 'dist', 'blob.bin'), crypto.randomBytes(bytes))
    return d
  }

  before(async () => {
    if (!ready()) return
    dir = tempDir('dynpack-mirror-')
    src = await startDockerRegistry()
    const certs = path.join(dir, 'certs')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const server = makeLeaf(certs, ca, 'server')
    const htpasswd = path.join(certs, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'alice', 's3cret']))
    dest = await startDockerRegistry({ tls: server, authYaml: ['htpasswd:', '  realm: test-realm', `  path: ${htpasswd}`] })
    certDir = path.join(certs, 'cadir')
    fs.mkdirSync(certDir)
    fs.copyFileSync(ca.crt, path.join(certDir, 'ca.crt'))

    fs.mkdirSync(path.join(dir, 'keys'))
    keys = await api.cosignGenerateKeyPair(path.join(dir, 'keys'), { passphrase: PASS })

    // a signed image with an SBOM referrer
    const one = await api.buildOciLayout(plugin('one', 3_000_000), { output: path.join(dir, 'l-one'), tag: `${src.host}/acme/one:1.0.0`, sbom: true })
    await api.pushOciImage(path.join(dir, 'l-one'), srcSide)
    await api.signOciImage(`${src.host}/acme/one:1.0.0`, { key: keys.privateKey, passphrase: PASS, ...srcSide })
    signed = { digest: one.manifestDigest, sbom: one.sboms[0].manifestDigest }
    // a tag that moved after the config pinned a digest
    const two = await api.buildOciLayout(plugin('two'), { output: path.join(dir, 'l-two'), tag: `${src.host}/acme/one:moved` })
    await api.pushOciImage(path.join(dir, 'l-two'), srcSide)
    moved = two.manifestDigest
    // an image holding two plugins (not signed)
    const r = spawnSync(process.execPath, [BIN, 'package', plugin('three'), plugin('four'), '--tag', `${src.host}/acme/multi:2.0.0`, '--push', '--tls-verify=false', '--output', path.join(dir, 'l-multi'), '--json'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    multi = JSON.parse(r.stdout)

    // a tgz served over HTTP
    const tgz = npmPack(plugin('five'), path.join(dir, 'served'))
    tgzIntegrity = tgz.integrity
    tgzServer = http.createServer((req, res) => {
      const file = path.join(dir, 'served', path.basename(req.url))
      if (!fs.existsSync(file)) { res.writeHead(404); res.end(); return }
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      fs.createReadStream(file).pipe(res)
    })
    await new Promise((resolve) => tgzServer.listen(0, '127.0.0.1', resolve))
    tgzUrl = `http://127.0.0.1:${tgzServer.address().port}/${tgz.filename}`

    // an npm package in verdaccio
    verdaccio = await startVerdaccio()
    const token = await verdaccio.addUser('pub', 'pub-pw')
    const npmrc = path.join(dir, 'config', '.npmrc')
    fs.mkdirSync(path.dirname(npmrc), { recursive: true })
    const nerf = verdaccio.url.replace(/^http:/, '')
    fs.writeFileSync(npmrc, `registry=${verdaccio.url}\n${nerf}:_authToken=${token}\n`)
    const six = npmPack(plugin('six'), path.join(dir, 'npm'))
    execFileSync('npm', ['publish', path.join(dir, 'npm', six.filename), '--registry', verdaccio.url], { cwd: path.dirname(npmrc), stdio: 'pipe' })
    npmEntry = { spec: '@acme/six-dynamic@1.0.0', integrity: six.integrity }
  })

  after(async () => {
    if (tgzServer) tgzServer.close()
    if (verdaccio) await verdaccio.stop()
    if (src) await src.stop()
    if (dest) await dest.stop()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  const need = (t) => needTools(t, 'skopeo', 'docker-registry', 'openssl', 'htpasswd') && (verdaccioAvailable() || (process.env.CI === 'true' ? assert.fail('verdaccio is required in CI') : t.skip('verdaccio is not installed')) || false)

  const writeConfig = (name, { integrity = tgzIntegrity } = {}) => {
    const file = path.join(dir, 'config', name)
    fs.writeFileSync(file, [
      '# RHDH dynamic plugins (kept as it is)',
      'includes:',
      '  - dynamic-plugins.default.yaml',
      'plugins:',
      '  # the signed one, pinned by digest; its tag moved since',
      `  - package: oci://${src.host}/acme/one@${signed.digest}!acme-one-dynamic`,
      `    # oci://${src.host}/acme/one:moved!acme-one-dynamic`,
      '    disabled: false',
      '    pluginConfig:',
      '      acme: { answer: 42 } # a flow map',
      `  - package: oci://${src.host}/acme/multi:2.0.0!acme-three-dynamic`,
      `  - package: oci://${src.host}/acme/multi:2.0.0!acme-four-dynamic`,
      '    disabled: true',
      `  - package: ${tgzUrl}`,
      `    integrity: ${integrity}`,
      `  - package: '${npmEntry.spec}'`,
      `    integrity: ${npmEntry.integrity}`,
      '  - package: ./dynamic-plugins/dist/backstage-plugin-techdocs',
      '    disabled: false',
      '',
    ].join('\n'))
    return file
  }

  const options = (prefix, extra = {}) => ({
    to: `${dest.host}/${prefix}`,
    tgzDir: path.join(dir, `www-${prefix}`),
    baseUrl: 'http://plugins.internal/dynamic',
    src: srcSide,
    dest: destSide(),
    ...extra,
  })

  test('one hop: images with signature and SBOM, the tgz and the npm package; the config rewritten, comments kept', async (t) => {
    if (!need(t)) return
    const config = writeConfig('dynamic-plugins.yaml')
    const out = path.join(dir, 'out.yaml')
    const r = await api.mirrorDynamicPlugins(config, options('mirror', { out }))
    assert.equal(r.written, out)
    const text = fs.readFileSync(out, 'utf8')
    assert.equal(text, r.config)
    for (const keep of ['# RHDH dynamic plugins (kept as it is)', '# the signed one, pinned by digest; its tag moved since', 'acme: { answer: 42 } # a flow map', '- dynamic-plugins.default.yaml', './dynamic-plugins/dist/backstage-plugin-techdocs']) {
      assert.ok(text.includes(keep), `kept: ${keep}\n${text}`)
    }
    assert.ok(text.includes(`oci://${dest.host}/mirror/acme/one@${signed.digest}!acme-one-dynamic`), text)
    const multiDigest = multi.plugins?.[0]?.manifestDigest ?? r.images.find((i) => i.source.includes('multi')).digest
    assert.ok(text.includes(`oci://${dest.host}/mirror/acme/multi@${multiDigest}!acme-three-dynamic`), text)
    assert.ok(text.includes(`oci://${dest.host}/mirror/acme/multi@${multiDigest}!acme-four-dynamic`), text)
    assert.ok(!packages(text).some((p) => p.includes(src.host)), 'no package refers to the source registry')
    assert.equal(r.images.length, 2, 'the multi-plugin image is copied once')
    assert.ok(text.includes('http://plugins.internal/dynamic/'), text)
    assert.equal(r.tgz.length, 1)
    assert.equal(r.npm.length, 1)
    for (const f of [...r.tgz, ...r.npm]) {
      assert.equal(await api.verifyIntegrity(f.file, f.integrity), true, `${f.file}: integrity equal`)
    }
    assert.deepEqual(r.kept.map((k) => k.package), ['./dynamic-plugins/dist/backstage-plugin-techdocs'])
    assert.equal(r.movedTags.length, 1)
    assert.match(r.movedTags[0], new RegExp(moved))
    const one = r.images.find((i) => i.source.includes('/acme/one'))
    assert.equal(one.signature, true)
    assert.equal(one.referrers, 1)
    const m = r.images.find((i) => i.source.includes('multi'))
    assert.equal(m.signature, false, 'a missing .sig is noted, not an error')

    // the signature verifies at the mirror with the same key
    const inspected = await api.inspectOciImage(`${dest.host}/mirror/acme/one@${signed.digest}`, { ...destSide(), key: keys.publicKey, anyRepository: true })
    assert.ok(inspected, 'inspect with the key passed')
    const cli = spawnSync(process.execPath, [BIN, 'inspect', `${dest.host}/mirror/acme/one@${signed.digest}`, '--key', keys.publicKey, '--any-repository', '--creds', CREDS, '--cert-dir', certDir, '--json'], { encoding: 'utf8' })
    assert.equal(cli.status, 0, cli.stderr)
    const report = JSON.parse(cli.stdout)
    assert.equal(report.report?.referrers?.[0]?.digest ?? signed.sbom, signed.sbom)
    // …and independently: skopeo reads the signature image at the mirror, sigstore-rs verifies it
    const sigTag = `${dest.host}/mirror/acme/one:${signed.digest.replace(':', '-')}.sig`
    const sigDir = path.join(dir, 'sig-at-mirror')
    run('skopeo', ['copy', '--src-creds', CREDS, '--src-cert-dir', certDir, `docker://${sigTag}`, `oci:${sigDir}:sig`])
    const index = JSON.parse(fs.readFileSync(path.join(sigDir, 'index.json'), 'utf8'))
    const blob = (digest) => fs.readFileSync(path.join(sigDir, 'blobs', ...digest.split(':')))
    const sigManifest = JSON.parse(blob(index.manifests[0].digest))
    const layer = sigManifest.layers[0]
    const payload = path.join(dir, 'sig-payload.json')
    const sigFile = path.join(dir, 'sig-payload.b64')
    fs.writeFileSync(payload, blob(layer.digest))
    fs.writeFileSync(sigFile, layer.annotations['dev.cosignproject.cosign/signature'])
    assert.equal(JSON.parse(fs.readFileSync(payload, 'utf8')).critical.image['docker-manifest-digest'], signed.digest)
    if (fs.existsSync(SIGSTORE_VERIFY)) {
      const v = spawnSync(SIGSTORE_VERIFY, ['verify', keys.publicKey, payload, sigFile], { encoding: 'utf8' })
      assert.equal(v.stdout.trim(), 'VERIFIED', `sigstore-rs verifies the mirrored signature: ${v.stderr}`)
    } else if (process.env.CI === 'true') {
      assert.fail('the sigstore-rs helper is not built (cargo build --release --manifest-path tools/sigstore-verify/Cargo.toml)')
    } else {
      t.diagnostic('sigstore-rs helper not built: the mirrored signature was checked by dynpack inspect only')
    }

    // a second run sends no blob
    const again = await api.mirrorDynamicPlugins(config, options('mirror'))
    for (const i of again.images) assert.equal(i.uploaded, 0, `${i.source}: nothing uploaded again`)
    assert.equal(again.config, r.config)
  })

  test('a run cut mid-copy writes no config; a rerun completes it', async (t) => {
    if (!need(t)) return
    const config = writeConfig('cut.yaml')
    const proxy = await startProxy(dest.port, { killAfter: 1_000_000 })
    const out = path.join(dir, 'cut-out.yaml')
    const cut = options('cut', { out })
    cut.to = `127.0.0.1:${proxy.port}/cut`
    await assert.rejects(api.mirrorDynamicPlugins(config, cut), (e) => /^E_REGISTRY_/.test(e.code))
    assert.ok(!fs.existsSync(out), 'no config written after a failure')
    const r = await api.mirrorDynamicPlugins(config, options('cut', { out }))
    assert.ok(fs.existsSync(out))
    const one = r.images.find((i) => i.source.includes('/acme/one'))
    assert.ok(one.existing + one.uploaded === one.blobs)
    const raw = run('skopeo', ['inspect', '--raw', '--creds', CREDS, '--cert-dir', certDir, `docker://${dest.host}/cut/acme/one@${signed.digest}`])
    assert.equal('sha256:' + crypto.createHash('sha256').update(raw).digest('hex'), signed.digest)
  })

  test('an integrity mismatch is E_INTEGRITY and nothing is written', async (t) => {
    if (!need(t)) return
    const bad = 'sha512-' + Buffer.alloc(64, 1).toString('base64')
    const config = writeConfig('bad.yaml', { integrity: bad })
    const out = path.join(dir, 'bad-out.yaml')
    const o = options('bad', { out })
    await assert.rejects(api.mirrorDynamicPlugins(config, o), (e) => e.code === 'E_INTEGRITY' && e.message.includes(bad))
    assert.ok(!fs.existsSync(out))
    assert.deepEqual(fs.readdirSync(o.tgzDir), [], 'no tgz left in --tgz-dir')
  })

  test('the CLI: --dry-run lists and writes nothing; --src-/--dest- options; a ConfigMap', async (t) => {
    if (!need(t)) return
    const config = writeConfig('for-cm.yaml')
    const cm = path.join(dir, 'config', 'cm.yaml')
    const inner = fs.readFileSync(config, 'utf8')
    fs.writeFileSync(cm, ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: dynamic-plugins # RHDH reads this', 'data:', '  dynamic-plugins.yaml: |', ...inner.split('\n').map((l) => (l ? `    ${l}` : ''))].join('\n'))
    const args = ['mirror', cm, '--to', `${dest.host}/cli`, '--tgz-dir', path.join(dir, 'www-cli'), '--base-url', 'http://plugins.internal/x', '--src-tls-verify=false', '--dest-creds', CREDS, '--dest-cert-dir', certDir]
    const dry = await cli([...args, '--dry-run'])
    assert.equal(dry.status, 0, dry.stderr)
    assert.match(dry.stderr, /would copy/)
    assert.equal(dry.stdout, '')
    assert.ok(!fs.existsSync(path.join(dir, 'www-cli')) || fs.readdirSync(path.join(dir, 'www-cli')).length === 0)
    const r = await cli(args)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /kind: ConfigMap/)
    assert.match(r.stdout, /# RHDH reads this/)
    assert.ok(r.stdout.includes(`oci://${dest.host}/cli/acme/one@${signed.digest}!acme-one-dynamic`), r.stdout)
    assert.match(r.stderr, /kept \.\/dynamic-plugins\/dist\/backstage-plugin-techdocs/)
    const usage = await cli(['mirror', cm])
    assert.equal(usage.status, 2)
  })

  test('two hops: --to-dir then DIR --to gives the same config and the same bytes as one hop', async (t) => {
    if (!need(t)) return
    const config = writeConfig('dynamic-plugins.yaml')
    const carry = path.join(dir, 'carry')
    const first = await api.mirrorDynamicPlugins(config, { toDir: carry, src: srcSide })
    assert.equal(first.written, carry)
    for (const f of ['dynamic-plugins.yaml', 'mirror.json', 'oci/index.json', 'oci/oci-layout']) assert.ok(fs.existsSync(path.join(carry, f)), f)
    const listing = JSON.parse(fs.readFileSync(path.join(carry, 'mirror.json'), 'utf8'))
    assert.equal(listing.images.length, 2)
    assert.equal(listing.files.length, 2)
    // the layout holds the signature and the SBOM's fallback tag
    const names = JSON.parse(fs.readFileSync(path.join(carry, 'oci', 'index.json'), 'utf8')).manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])
    const hex = signed.digest.slice('sha256:'.length)
    assert.ok(names.includes(`acme/one:sha256-${hex}.sig`), names.join(' '))
    assert.ok(names.includes(`acme/one:sha256-${hex}`), names.join(' '))
    // the same run again writes no blob
    const again = await api.mirrorDynamicPlugins(config, { toDir: carry, src: srcSide })
    for (const i of again.images) assert.equal(i.uploaded, 0)

    // the other side: the registry only
    const out = path.join(dir, 'two-hop.yaml')
    const second = await api.mirrorDynamicPlugins(carry, options('mirror', { out, tgzDir: path.join(dir, 'www-two'), src: {} }))
    const oneHop = fs.readFileSync(path.join(dir, 'out.yaml'), 'utf8')
    assert.equal(fs.readFileSync(out, 'utf8'), oneHop.replaceAll('www-mirror', 'www-two'), 'the same config as one hop')
    for (const i of second.images) assert.equal(i.uploaded, 0, 'the one-hop run already sent every blob: same bytes')
    for (const f of second.tgz.concat(second.npm)) {
      assert.deepEqual(fs.readFileSync(f.file), fs.readFileSync(f.file.replace('www-two', 'www-mirror')))
    }
    // into a fresh prefix, then compared with the one-hop copy byte for byte
    const fresh = await api.mirrorDynamicPlugins(carry, options('twohop', { tgzDir: path.join(dir, 'www-two2'), src: {} }))
    for (const i of fresh.images) {
      assert.ok(i.uploaded > 0)
      for (const tag of [i.digest, `sha256-${i.digest.slice(7)}.sig`, `sha256-${i.digest.slice(7)}`]) {
        const read = (prefix) => spawnSync('skopeo', ['inspect', '--raw', '--creds', CREDS, '--cert-dir', certDir, `docker://${dest.host}/${prefix}/${i.reference.split('/').slice(2).join('/').split('@')[0]}${tag.startsWith('sha256:') ? '@' : ':'}${tag}`], { encoding: 'utf8' })
        const a = read('mirror')
        const b = read('twohop')
        assert.equal(a.status, b.status, `${tag}: ${a.stderr} ${b.stderr}`)
        assert.equal(a.stdout, b.stdout, `${tag}: same bytes`)
      }
    }
  })

  test('npm entries published to a private registry (--npm-registry); the public one refused; the CLI two-hop form', async (t) => {
    if (!need(t)) return
    const config = writeConfig('npm.yaml')
    await assert.rejects(api.mirrorDynamicPlugins(config, options('npm', { npmRegistry: 'https://registry.npmjs.org/' })), (e) => e.code === 'E_PUBLIC_REGISTRY')
    const target = await startVerdaccio()
    try {
      const token = await target.addUser('mirror', 'mirror-pw')
      const npmrc = path.join(dir, 'config', '.npmrc')
      const saved = fs.readFileSync(npmrc, 'utf8')
      fs.appendFileSync(npmrc, `${target.url.replace(/^http:/, '')}:_authToken=${token}\n`)
      try {
        const r = await api.mirrorDynamicPlugins(config, options('npm', { npmRegistry: target.url }))
        assert.deepEqual(r.npm.map((n) => n.registry), [target.url])
        assert.ok(packages(r.config).includes(npmEntry.spec), 'the npm entry stays name@version')
        const meta = await (await fetch(`${target.url}@acme%2fsix-dynamic`)).json()
        assert.equal(meta.versions['1.0.0'].dist.integrity, npmEntry.integrity)
      } finally {
        fs.writeFileSync(npmrc, saved)
      }
    } finally {
      await target.stop()
    }

    // the CLI: --to-dir, then DIR --to
    const carry = path.join(dir, 'carry-cli')
    const first = await cli(['mirror', config, '--to-dir', carry, '--src-tls-verify=false'])
    assert.equal(first.status, 0, first.stderr)
    assert.equal(first.stdout, '')
    const second = await cli(['mirror', carry, '--to', `${dest.host}/cli2`, '--tgz-dir', path.join(dir, 'www-cli2'), '--base-url', 'http://plugins.internal/dynamic', '--creds', CREDS, '--cert-dir', certDir, '--json'])
    assert.equal(second.status, 0, second.stderr)
    const report = JSON.parse(second.stdout)
    assert.ok(report.config.includes(`oci://${dest.host}/cli2/acme/one@${signed.digest}!acme-one-dynamic`), report.config)
    assert.equal(report.images.find((i) => i.source.includes('/acme/one')).signature, true)
  })

  test('within one registry, blobs are mounted from the source repository, not sent', async (t) => {
    if (!need(t)) return
    const mirrored = packages(fs.readFileSync(path.join(dir, 'out.yaml'), 'utf8')).filter((p) => p.startsWith('oci://'))
    const config = path.join(dir, 'config', 'same-registry.yaml')
    fs.writeFileSync(config, `plugins:\n${mirrored.map((p) => `  - package: ${p}\n`).join('')}`)
    const r = await api.mirrorDynamicPlugins(config, { to: `${dest.host}/again`, src: destSide(), dest: destSide() })
    for (const i of r.images) {
      assert.equal(i.uploaded, 0, `${i.source}: nothing sent`)
      assert.ok(i.mounted > 0, `${i.source}: mounted`)
    }
    assert.equal(r.images.find((i) => i.source.includes('/acme/one')).signature, true)
  })

  test('a destination that refuses a blob: E_REGISTRY_DENIED, no config written', async (t) => {
    if (!need(t)) return
    const config = path.join(dir, 'config', 'refused.yaml')
    fs.writeFileSync(config, `plugins:\n  - package: oci://${src.host}/acme/multi:2.0.0!acme-three-dynamic\n`)
    const proxy = await startHttpProxy(src.port, {
      intercept: (req, res) => {
        if (req.method !== 'PUT' || !req.url.includes('/blobs/uploads/')) return false
        req.resume()
        req.on('end', () => {
          res.writeHead(403, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }))
        })
        return true
      },
    })
    try {
      const out = path.join(dir, 'refused-out.yaml')
      await assert.rejects(api.mirrorDynamicPlugins(config, { to: `127.0.0.1:${proxy.port}/refused`, out, src: srcSide, dest: { tlsVerify: false } }),
        (e) => e.code === 'E_REGISTRY_DENIED')
      assert.ok(!fs.existsSync(out))
    } finally {
      proxy.stop()
    }
  })

  test('sources stopped: every rewritten reference reads back from the mirror with skopeo, digests equal', async (t) => {
    if (!need(t)) return
    const text = fs.readFileSync(path.join(dir, 'out.yaml'), 'utf8')
    await src.stop({ removeDir: true })
    tgzServer.close()
    const refs = packages(text).filter((p) => p.startsWith('oci://')).map((p) => p.slice('oci://'.length).split('!')[0])
    assert.equal(refs.length, 3)
    for (const ref of refs) {
      const raw = run('skopeo', ['inspect', '--raw', '--creds', CREDS, '--cert-dir', certDir, `docker://${ref}`])
      assert.equal('sha256:' + crypto.createHash('sha256').update(raw).digest('hex'), ref.split('@')[1])
      run('skopeo', ['copy', '--all', '--src-creds', CREDS, '--src-cert-dir', certDir, `docker://${ref}`, `oci:${path.join(dir, 'readback')}:x`])
    }
  })
})
