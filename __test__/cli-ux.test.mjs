// What a new user tripped on (issue 22), each held by a test: `package` with
// several folders (the README's command), keygen into a new folder, nothing on
// stdout after a failed push and the registry checked before the build, each
// warning once per run, `login` with a wrong password, `pack`'s integrity
// lines, `package`'s push hint, inspect's platform rule. Real registries
// (docker-registry, htpasswd) on 127.0.0.1; the 80-column progress line is in
// terminal.test.mjs.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { writeTree, codeLike } from './helpers/tree.mjs'
import { scratchHome, sha256 } from './helpers/scratch.mjs'
import { needTools, which, run, REGISTRY_BIN } from './helpers/oci.mjs'
import { makeCa, makeLeaf, startDockerRegistry, startTokenServer, startHttpProxy, freePort } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { makeExamples } = require('../examples/make-examples.js')

const scratch = scratchHome('dynpack-cliux-')
const fresh = scratch.fresh
let ex
before(() => { ex = makeExamples(path.join(scratch.root, 'examples')) })


/** Runs bin/dynpack.js without blocking the event loop (servers live in this process). */
function dynpack (args, { cwd, env, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    child.stdin.end(input ?? '')
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** A monorepo with plugins/<dir> for each [dir, packageName] and a dist-dynamic each. */
function monorepo (plugins) {
  const repo = fresh('mono')
  writeTree(repo, { 'package.json': { json: { name: 'root', private: true, workspaces: ['plugins/*'] } } })
  for (const [dir, name] of plugins) {
    writeTree(path.join(repo, 'plugins', dir), {
      'package.json': { json: { name, version: '1.2.0', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/package.json': { json: { name: `${name}-dynamic`, version: '1.2.0' } },
      'dist-dynamic/dist/index.js': codeLike(dir.length, 3000),
    })
  }
  return repo
}

describe('package with several folders (the README command)', () => {
  let registry
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })

  test('`package plugins/a plugins/b --tag HOST/acme/{dir}:{version} --push`: one image per plugin, each pushed', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const repo = monorepo([['a', '@acme/plugin-a'], ['b', '@acme/plugin-b'], ['c', '@acme/plugin-c']])
    const r = await dynpack(['package', 'plugins/a', 'plugins/b', '--tag', `${registry.host}/acme/{dir}:{version}`, '--push', '--tls-verify=false'], { cwd: repo })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(fs.readdirSync(path.join(repo, 'dist-oci')).sort(), ['acme-plugin-a', 'acme-plugin-b'], 'dist-oci in the current folder, one layout per plugin, not plugin c')
    for (const dir of ['acme-plugin-a', 'acme-plugin-b']) {
      const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/acme/${dir}:1.2.0`], { encoding: 'buffer' })
      assert.match(r.stdout, new RegExp(`^ {2}- package: oci://${registry.host}/acme/${dir}@${sha256(raw)}!${dir}$`, 'm'))
    }
    assert.doesNotMatch(r.stdout, /plugin-c/)
  })

  test('a plain tag puts the plugins of every folder into one image; a folder named twice counts once', async () => {
    const repo = monorepo([['a', '@acme/plugin-a'], ['b', '@acme/plugin-b']])
    const r = await dynpack(['package', 'plugins/a', 'plugins/b/dist-dynamic', 'plugins/a/dist-dynamic', '--tag', 'quay.io/acme/ab:1', '--json', '--quiet'], { cwd: repo })
    assert.equal(r.status, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.mode, 'folders')
    assert.equal(j.root, null)
    assert.deepEqual(j.folders.map((f) => f.mode), ['plugin', 'dist-dynamic', 'dist-dynamic'])
    assert.deepEqual(j.image.output, path.join(repo, 'dist-oci'))
    assert.deepEqual(j.plugins.map((p) => p.directory), ['acme-plugin-a', 'acme-plugin-b'])
    // a monorepo root and one of its plugins: still each plugin once
    const both = await dynpack(['package', '.', 'plugins/b', '--tag', 'quay.io/acme/ab:2', '--output', fresh('o'), '--json', '--quiet'], { cwd: repo })
    assert.equal(both.status, 0, both.stderr)
    assert.deepEqual(JSON.parse(both.stdout).plugins.map((p) => p.directory), ['acme-plugin-a', 'acme-plugin-b'])
  })

  test('several plugins that would map to one tag, or one plugin found twice: a clear error, nothing written', async () => {
    const repo = monorepo([['x', '@acme/plugin-x'], ['y', '@other/plugin-x']])
    const out = fresh('o')
    const r = await dynpack(['package', 'plugins/x', 'plugins/y', '--tag', 'quay.io/acme/{name}:{version}', '--output', out], { cwd: repo })
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^dynpack: E_USAGE: @acme\/plugin-x-dynamic \(plugins\/x\/dist-dynamic\) and @other\/plugin-x-dynamic \(plugins\/y\/dist-dynamic\) would both be quay\.io\/acme\/plugin-x:1\.2\.0: .*put \{dir\} \(or \{scope\}\) in --tag/m)
    assert.equal(fs.existsSync(out), false)
    // {scope} tells them apart
    const ok = await dynpack(['package', 'plugins/x', 'plugins/y', '--tag', 'quay.io/{scope}/{name}:{version}', '--output', out, '--json', '--quiet'], { cwd: repo })
    assert.equal(ok.status, 0, ok.stderr)
    assert.deepEqual(JSON.parse(ok.stdout).images.map((i) => i.tag), ['quay.io/acme/plugin-x:1.2.0', 'quay.io/other/plugin-x:1.2.0'])

    const copy = fresh('copy')
    fs.cpSync(path.join(repo, 'plugins', 'x'), copy, { recursive: true })
    const twice = await dynpack(['package', 'plugins/x', copy, '--tag', 'quay.io/acme/{dir}:{version}', '--output', fresh('o')], { cwd: repo })
    assert.equal(twice.status, 1)
    assert.match(twice.stderr, /^dynpack: E_PLUGIN_CONFLICT: plugins\/x\/dist-dynamic and .*copy-\d+\/dist-dynamic are both the plugin acme-plugin-x \(@acme\/plugin-x-dynamic\): .*pass only one of them$/m)
  })
})

describe('keygen into a folder that does not exist', () => {
  test('creates it with mode 0700 and says so; a path under a file is E_DESTINATION', async () => {
    const dir = path.join(fresh('keys'), 'ci', 'signing')
    const r = await dynpack(['keygen', dir], { env: { COSIGN_PASSWORD: 'pw' } })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700)
    assert.deepEqual(fs.readdirSync(dir).sort(), ['cosign.key', 'cosign.pub'])
    assert.match(r.stderr, /^dynpack: created .*signing \(mode 0700\) for the keys$/m)
    assert.doesNotMatch(r.stderr, /E_VANISHED|disappeared/)
    const file = fresh('a-file')
    fs.writeFileSync(file, 'x')
    const bad = await dynpack(['keygen', path.join(file, 'keys')], { env: { COSIGN_PASSWORD: 'pw' } })
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^dynpack: E_DESTINATION: .*a-file-\d+\/keys: cannot create the folder for the keys \(ENOTDIR\); pass a writable location$/m)
    const notDir = await dynpack(['keygen', file], { env: { COSIGN_PASSWORD: 'pw' } })
    assert.match(notDir.stderr, /^dynpack: E_DESTINATION: .*a-file-\d+: not a folder/m)
  })
})

describe('package --push: the registry is checked first; after a failure stdout stays empty', () => {
  let registry
  let certs
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl') || !which('htpasswd')) return
    certs = fresh('certs')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const htpasswd = path.join(certs, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'alice', 's3cret']))
    registry = await startDockerRegistry({ tls: makeLeaf(certs, ca, 'server'), authYaml: ['htpasswd:', '  realm: test-realm', `  path: ${htpasswd}`] })
  })
  after(async () => { if (registry) await registry.stop() })

  test('no or wrong credentials: one E_REGISTRY_AUTH for the registry, nothing built, nothing on stdout', async (t) => {
    if (!needTools(t, 'docker-registry', 'openssl', 'htpasswd')) return
    const repo = monorepo([['a', '@acme/plugin-a'], ['b', '@acme/plugin-b'], ['c', '@acme/plugin-c']])
    const tag = `${registry.host}/acme/{dir}:{version}`
    for (const creds of [[], ['--creds', 'alice:wrong']]) {
      const out = fresh('o')
      const r = await dynpack(['package', '--tag', tag, '--push', '--tls-verify=false', '--output', out, ...creds], { cwd: repo })
      assert.equal(r.status, 1)
      assert.equal(r.stdout, '', 'no snippet naming images that were never pushed')
      const errors = r.stderr.split('\n').filter((l) => /^dynpack: E_/.test(l))
      assert.equal(errors.length, 1, r.stderr)
      assert.match(errors[0], new RegExp(`^dynpack: E_REGISTRY_AUTH: ${registry.host}: `))
      assert.match(r.stderr, /^dynpack: nothing was built; fix the registry access and run again$/m)
      assert.equal(fs.existsSync(out), false, 'nothing was built')
      assert.ok(!r.stderr.includes('wrong'))
    }
    const j = await dynpack(['package', '--tag', tag, '--push', '--tls-verify=false', '--output', fresh('o'), '--json'], { cwd: repo })
    assert.equal(j.status, 1)
    const report = JSON.parse(j.stdout)
    assert.deepEqual(report.images, [])
    assert.deepEqual(report.failures.map((f) => [f.stage, f.code]), [['access', 'E_REGISTRY_AUTH']])
    assert.equal(report.failures[0].what, `${registry.host}/acme/acme-plugin-a`)
    // with the credentials, the same command pushes all three
    const ok = await dynpack(['package', '--tag', tag, '--push', '--tls-verify=false', '--output', fresh('o'), '--creds', 'alice:s3cret', '--quiet'], { cwd: repo })
    assert.equal(ok.status, 0, ok.stderr)
    assert.equal(ok.stdout.match(/- package: oci:\/\/.*@sha256:/g).length, 3)
  })

  test('a registry that does not answer: one E_REGISTRY_UNREACHABLE before the build', async () => {
    const closed = await freePort()
    const out = fresh('o')
    const r = await dynpack(['package', ex.backend, '--tag', `127.0.0.1:${closed}/acme/x:1`, '--push', '--tls-verify=false', '--output', out])
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr.split('\n').filter((l) => /^dynpack: E_/.test(l)).length, 1, r.stderr)
    assert.match(r.stderr, /^dynpack: E_REGISTRY_UNREACHABLE: /m)
    assert.equal(fs.existsSync(out), false)
  })
})

describe('package --push with a user who may pull but not push (token auth)', () => {
  let registry
  let tokens
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl')) return
    const dir = fresh('tok')
    fs.mkdirSync(dir)
    const ca = makeCa(dir, 'tokca')
    const signer = makeLeaf(dir, ca, 'signer', { serverAuth: false, san: 'DNS:token.test' })
    tokens = await startTokenServer({ signer, issuer: 'test-issuer', users: { bob: { password: 'pw', actions: ['pull'] } } })
    registry = await startDockerRegistry({
      authYaml: ['token:', `  realm: ${tokens.realm}`, '  service: test-registry', '  issuer: test-issuer', `  rootcertbundle: ${ca.crt}`],
    })
  })
  after(async () => {
    if (registry) await registry.stop()
    if (tokens) await tokens.stop()
  })

  test('one E_REGISTRY_DENIED naming every repository, before the build', async (t) => {
    if (!needTools(t, 'docker-registry', 'openssl')) return
    const repo = monorepo([['a', '@acme/plugin-a'], ['b', '@acme/plugin-b'], ['c', '@acme/plugin-c']])
    const out = fresh('o')
    const r = await dynpack(['package', '--tag', `${registry.host}/t/{dir}:{version}`, '--push', '--tls-verify=false', '--creds', 'bob:pw', '--output', out], { cwd: repo })
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    const errors = r.stderr.split('\n').filter((l) => /^dynpack: E_/.test(l))
    assert.equal(errors.length, 1, r.stderr)
    assert.match(errors[0], new RegExp(`^dynpack: E_REGISTRY_DENIED: ${registry.host}: user "bob" .* may not push to t/acme-plugin-a; .*\\(the same for ${registry.host}/t/acme-plugin-b, ${registry.host}/t/acme-plugin-c\\)$`))
    assert.equal(fs.existsSync(out), false)
  })
})

describe('a push that fails after the build', () => {
  let registry
  let proxy
  before(async () => {
    if (!REGISTRY_BIN) return
    registry = await startDockerRegistry()
    // The registry refuses every manifest: the access check passes, the push fails at its end.
    proxy = await startHttpProxy(registry.port, {
      intercept: (req, res) => {
        if (req.method !== 'PUT' || !/\/manifests\//.test(req.url)) return false
        req.resume()
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end('{"errors":[{"code":"MANIFEST_INVALID","message":"refused by the test"}]}')
        return true
      },
    })
  })
  after(async () => {
    if (proxy) proxy.stop()
    if (registry) await registry.stop()
  })

  test('stdout holds nothing (text) or the report with the failure (--json); exit 1', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const tag = `127.0.0.1:${proxy.port}/acme/refused:1`
    const out = fresh('o')
    const r = await dynpack(['package', ex.backend, '--tag', tag, '--push', '--tls-verify=false', '--output', out])
    assert.equal(r.status, 1, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^dynpack: E_REGISTRY_PROTOCOL: .*MANIFEST_INVALID/m)
    assert.match(r.stderr, /^dynpack: not pushed: .*; once fixed, push with `npx dynpack push \S+` or run again$/m)
    assert.ok(fs.existsSync(path.join(out, 'index.json')), 'the image is built')
    const j = await dynpack(['package', ex.backend, '--tag', tag, '--push', '--tls-verify=false', '--output', out, '--json'])
    assert.equal(j.status, 1)
    const report = JSON.parse(j.stdout)
    assert.equal(report.image.pushed, null)
    assert.deepEqual(report.failures.map((f) => [f.stage, f.code]), [['push', 'E_REGISTRY_PROTOCOL']])
  })
})

describe('each warning once per run', () => {
  test('the registry port and the packages not named *-dynamic: one warning each for three images', async () => {
    const repo = fresh('undynamic')
    for (const x of ['a', 'b', 'c']) {
      writeTree(path.join(repo, x), {
        'package.json': { json: { name: `@acme/plugin-${x}-src`, version: '1.0.0' } },
        'dist-dynamic/package.json': { json: { name: `@acme/plugin-${x}`, version: '1.0.0' } },
        'dist-dynamic/index.js': 'module.exports = {}\n',
      })
    }
    const r = await dynpack(['package', 'a', 'b', 'c', '--tag', '127.0.0.1:5000/acme/{dir}:{version}', '--output', 'out'], { cwd: repo })
    assert.equal(r.status, 0, r.stderr)
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('dynpack: warning: '))
    assert.deepEqual(warnings.map((w) => w.replace(/\(.*/, '')), [
      'dynpack: warning: 127.0.0.1:5000: the registry has a port, which RHDH 1.9 and earlier cannot parse in oci:// references ',
      'dynpack: warning: 3 packages are not named *-dynamic ',
    ])
    const j = JSON.parse((await dynpack(['package', 'a', 'b', 'c', '--tag', '127.0.0.1:5000/acme/{dir}:{version}', '--output', 'out', '--json', '-q'], { cwd: repo })).stdout)
    assert.equal(j.warnings.length, 2)
  })
})

describe('login with a wrong password', () => {
  let registry
  let certs
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl') || !which('htpasswd')) return
    certs = fresh('certs')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const htpasswd = path.join(certs, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'alice', 's3cret']))
    registry = await startDockerRegistry({ tls: makeLeaf(certs, ca, 'server'), authYaml: ['htpasswd:', '  realm: test-realm', `  path: ${htpasswd}`] })
  })
  after(async () => { if (registry) await registry.stop() })

  test('speaks of logging in, not of a login to redo', async (t) => {
    if (!needTools(t, 'docker-registry', 'openssl', 'htpasswd')) return
    const authfile = path.join(fresh('login'), 'auth.json')
    const r = await dynpack(['login', registry.host, '-u', 'alice', '--password-stdin', '--authfile', authfile, '--tls-verify=false'], { input: 'wrong\n' })
    assert.equal(r.status, 1)
    assert.equal(r.stderr, `dynpack: E_REGISTRY_AUTH: ${registry.host}: the registry refused to log in user "alice" with the password given on standard input; check the user name and the password (or token) and run the login again\n`)
    assert.equal(fs.existsSync(authfile), false)
  })
})

describe('pack, package and inspect wording', () => {
  test('plain pack prints each tarball\'s integrity next to its name (stderr; stdout stays npm\'s file names)', async () => {
    const dest = fresh('tgz')
    const r = await dynpack(['pack', ex.backendDistDynamic, ex.frontendDistDynamic, '--pack-destination', dest])
    assert.equal(r.status, 0, r.stderr)
    const names = ['acme-plugin-todo-backend-dynamic-1.2.0.tgz', 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz']
    assert.equal(r.stdout, names.join('\n') + '\n')
    for (const n of names) {
      const sri = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(path.join(dest, n))).digest('base64')
      assert.match(r.stderr, new RegExp(`^dynpack: ${n.replace(/\./g, '\\.')} +integrity: ${sri.replace(/[+/]/g, '\\$&')}$`, 'm'))
    }
    assert.equal((await dynpack(['pack', ex.backendDistDynamic, '--pack-destination', dest, '--quiet'])).stderr, '')
  })

  test('package without --push names `npx dynpack push` first, then skopeo', async () => {
    const r = await dynpack(['package', '--tag', 'quay.io/acme/todo-plugins:1.2.0', '--output', 'out/oci-hint'], { cwd: ex.root })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^Push it with:\n {2}npx dynpack push out\/oci-hint\nor with skopeo:\n {2}skopeo copy --preserve-digests oci:out\/oci-hint:1\.2\.0 docker:\/\/quay\.io\/acme\/todo-plugins:1\.2\.0\n/m)
    // a layout holding another image too: the command picks this one
    const again = await dynpack(['package', '--tag', 'quay.io/acme/todo-plugins:1.3.0', '--output', 'out/oci-hint'], { cwd: ex.root })
    assert.match(again.stdout, /^ {2}npx dynpack push out\/oci-hint --ref 1\.3\.0$/m)
  })

  test("inspect's platform rule words a single manifest as one", async () => {
    const out = fresh('oci')
    assert.equal((await dynpack(['package', ex.backend, '--tag', 'quay.io/acme/x:1', '--output', out, '-q'])).status, 0)
    const r = await dynpack(['inspect', out])
    assert.match(r.stdout, /platform +a single image, or an index with a linux\/amd64 one$/m)
  })
})
