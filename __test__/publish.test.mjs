// publishDynamic and `dynpack publish` against a real registry: verdaccio on
// 127.0.0.1, started here with its storage in a temporary folder. What the
// registry serves is checked with the real npm (`npm view`, `npm pack <spec>`).
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree, npmPack } from './helpers/tree.mjs'
import { backendDistDynamic, frontendDistDynamic } from './helpers/fixtures.mjs'
import { startVerdaccio, verdaccioAvailable } from './helpers/verdaccio.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { publishDynamic, packDynamic } = require('../lib/api.js')
const { _redact: redact, _isPublicRegistry: isPublicRegistry, _rhdhNpmrc: rhdhNpmrc, _describeUrl: describeUrl } = require('../lib/publish.js')

const CI = process.env.CI === 'true'
function registryMissing () {
  if (verdaccioAvailable()) return false
  if (CI) throw new Error('verdaccio is required in CI: it is a dev dependency, run npm ci')
  return 'verdaccio is not installed (run npm install)'
}
const SKIP = registryMissing()
if (SKIP) console.log(`# skipping the registry tests: ${SKIP}`)

const WRONG_TOKEN = 'dynpack-wrong-token-0123456789abcdef'

let root, registry, token, env, wrongEnv, anonEnv
before(async () => {
  root = tempDir('dynpack-publish-test-')
  if (SKIP) return
  registry = await startVerdaccio()
  token = await registry.addUser('dynpack-ci', 'not-a-real-password')
  const dart = registry.url.replace(/^http:/, '')
  const npmrc = (name, text) => { const f = path.join(root, name); fs.writeFileSync(f, text); return f }
  // Each npm run gets its own user config and cache: nothing from ~/.npmrc, ~/.npm or the
  // npm_config_* variables `npm test` exports leaks in.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)))
  Object.assign(base, {
    npm_config_cache: path.join(root, 'npm-cache'),
    npm_config_loglevel: 'warn',
    npm_config_update_notifier: 'false',
  })
  env = { ...base, NPM_CONFIG_USERCONFIG: npmrc('good.npmrc', `${dart}:_authToken=${token}\n`) }
  wrongEnv = { ...base, NPM_CONFIG_USERCONFIG: npmrc('wrong.npmrc', `${dart}:_authToken=${WRONG_TOKEN}\n`) }
  anonEnv = { ...base, NPM_CONFIG_USERCONFIG: npmrc('anon.npmrc', '') }
})
after(async () => {
  if (registry) await registry.stop()
  if (root) fs.rmSync(root, { recursive: true, force: true })
})

/** A small dist-dynamic package; `source` adds the plugin folder around it. */
function plugin (name, version, { publishConfig, sourcePublishConfig, source = false, appConfig } = {}) {
  const dir = path.join(root, 'plugins', name.replace(/[@/]/g, '_') + '-' + version)
  const distPkg = { name, version, main: 'dist/index.cjs.js', backstage: { role: 'backend-plugin' } }
  if (publishConfig) distPkg.publishConfig = publishConfig
  writeTree(path.join(dir, 'dist-dynamic'), {
    'package.json': { json: distPkg },
    'dist/index.cjs.js': `module.exports = ${JSON.stringify(name + '@' + version)}\n`,
  })
  if (source) {
    const srcPkg = { name: name.replace(/-dynamic$/, ''), version }
    if (sourcePublishConfig) srcPkg.publishConfig = sourcePublishConfig
    writeTree(dir, { 'package.json': { json: srcPkg } })
    if (appConfig) writeTree(dir, { 'app-config.yaml': appConfig })
  }
  return dir
}

function npm (args, { cwd = root, environment = env } = {}) {
  return execFileSync('npm', args, { cwd, env: environment, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** What the registry says about `spec`, or null when it does not have it. */
function npmView (spec, field) {
  const r = spawnSync('npm', ['view', spec, field, '--json', `--registry=${registry.url}`], { cwd: root, env, encoding: 'utf8' })
  if (r.status !== 0) {
    if (/E404/.test(r.stdout + r.stderr)) return null
    throw new Error(`npm view ${spec}: ${r.stderr}`)
  }
  return r.stdout.trim() === '' ? null : JSON.parse(r.stdout)
}

/** `npm pack <name>@<version>` from the registry; resolves to the file's bytes. */
function fetchBack (spec) {
  const dest = tempDir('dynpack-fetch-')
  try {
    const [info] = JSON.parse(npm(['pack', spec, '--json', `--registry=${registry.url}`, '--pack-destination', dest], { cwd: dest }))
    return fs.readFileSync(path.join(dest, info.filename))
  } finally {
    fs.rmSync(dest, { recursive: true, force: true })
  }
}

/** Runs `dynpack ...args` as a subprocess. */
function dynpack (args, environment = env) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, env: environment, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

async function rejectsWith (promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `code (message: ${err.message})`)
    if (pattern) assert.match(err.message, pattern)
    return true
  })
}

describe('publishDynamic against a real registry', { skip: SKIP }, () => {
  test('publishes the exact npm pack tarball: npm view shows its integrity, npm pack gives its bytes back', async () => {
    const dir = frontendDistDynamic(path.join(root, 'fe'))
    const expected = npmPack(dir, path.join(root, 'fe-npm'))
    const ours = await packDynamic(dir, { destination: path.join(root, 'fe-npm'), dryRun: true })

    const r = await publishDynamic(dir, { registry: registry.url, env })
    assert.equal(r.name, '@backstage-community/plugin-todo-dynamic')
    assert.equal(r.version, '0.4.0')
    assert.equal(r.package, '@backstage-community/plugin-todo-dynamic@0.4.0')
    assert.equal(r.integrity, expected.integrity, 'integrity equals npm pack\'s')
    assert.equal(r.integrity, ours.integrity)
    assert.equal(r.registry, registry.url)
    assert.equal(r.registrySource, 'option')
    assert.equal(r.tag, 'latest')
    assert.equal(r.published, true)
    assert.equal(r.dryRun, false)
    assert.equal(r.dir, dir)
    assert.deepEqual(r.warnings, [])
    assert.equal(r.npmrc, `@backstage-community:registry=${registry.url}\n` +
      '# only if the registry needs a token to read:\n' +
      `${registry.url.replace(/^http:/, '')}:_authToken=<auth-token>\n`)

    assert.equal(npmView(r.package, 'dist.integrity'), expected.integrity, 'the registry serves that integrity')
    assert.equal(npmView(r.name, 'dist-tags').latest, '0.4.0')
    const back = fetchBack(r.package)
    const local = fs.readFileSync(path.join(root, 'fe-npm', expected.filename))
    assert.ok(back.equals(local), 'npm pack <name>@<version> gives back npm pack\'s bytes')
  })

  test('a prerelease with bundled dependencies under a dist-tag, from the plugin folder', async () => {
    const dist = backendDistDynamic(path.join(root, 'be'))
    const expected = npmPack(dist, path.join(root, 'be-npm'))
    const r = await publishDynamic(path.dirname(dist), { registry: registry.url, tag: 'next', env })
    assert.equal(r.dir, dist, 'the dist-dynamic folder inside the plugin folder is published')
    assert.equal(r.source, path.dirname(dist))
    assert.equal(r.tag, 'next')
    assert.equal(r.integrity, expected.integrity)
    assert.equal(npmView(r.package, 'dist.integrity'), expected.integrity)
    assert.equal(npmView(r.name, 'dist-tags').next, '1.2.3-rc.1')
    assert.ok(fetchBack(r.package).equals(fs.readFileSync(path.join(root, 'be-npm', expected.filename))))
  })

  test('a prerelease without a dist-tag is refused by npm, clearly', async () => {
    const dir = plugin('@acme/pre-dynamic', '2.0.0-beta.1')
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env }), 'E_PUBLISH_FAILED', /specify a tag using --tag/)
    assert.equal(npmView('@acme/pre-dynamic', 'versions'), null)
  })

  test('the registry comes from publishConfig.registry, then from npm\'s configuration (scope first)', async () => {
    const a = plugin('@acme/from-publish-config-dynamic', '1.0.0', { publishConfig: { registry: registry.url.replace(/\/$/, '') } })
    const ra = await publishDynamic(a, { env })
    assert.equal(ra.registrySource, 'publishConfig')
    assert.equal(ra.registry, registry.url)
    assert.equal(npmView(ra.package, 'dist.integrity'), ra.integrity)

    // The scope's registry in .npmrc wins over `registry`, as npm picks it.
    const scoped = path.join(root, 'scoped.npmrc')
    fs.writeFileSync(scoped, fs.readFileSync(env.NPM_CONFIG_USERCONFIG, 'utf8') +
      'registry=https://registry.npmjs.org/\n' + `@acme:registry=${registry.url}\n`)
    const b = plugin('@acme/from-npmrc-dynamic', '1.0.0')
    const rb = await publishDynamic(b, { env: { ...env, NPM_CONFIG_USERCONFIG: scoped } })
    assert.equal(rb.registrySource, 'npmConfig')
    assert.equal(rb.registry, registry.url)
    assert.equal(npmView(rb.package, 'dist.integrity'), rb.integrity)

    // --registry wins over a scope's registry in .npmrc: npm is told so explicitly.
    const elsewhere = path.join(root, 'elsewhere.npmrc')
    fs.writeFileSync(elsewhere, fs.readFileSync(env.NPM_CONFIG_USERCONFIG, 'utf8') + '@acme:registry=http://127.0.0.1:9/\n')
    const c = plugin('@acme/option-wins-dynamic', '1.0.0', { publishConfig: { registry: 'http://127.0.0.1:9/' } })
    const rc = await publishDynamic(c, { registry: registry.url, env: { ...env, NPM_CONFIG_USERCONFIG: elsewhere } })
    assert.equal(npmView(rc.package, 'dist.integrity'), rc.integrity)
  })

  test('refuses the public npm registry unless allowed, and says why', async () => {
    const dir = plugin('@acme/public-dynamic', '1.0.0')
    for (const url of ['https://registry.npmjs.org', 'https://registry.npmjs.com/', 'https://registry.yarnpkg.com/']) {
      await rejectsWith(publishDynamic(dir, { registry: url, env }), 'E_PUBLIC_REGISTRY',
        /run-time artifact.*private registry or an OCI image.*--allow-public-registry/)
    }
    // From publishConfig too, and from npm's configuration (here: the default registry).
    const pc = plugin('@acme/public-pc-dynamic', '1.0.0', { publishConfig: { registry: 'https://registry.npmjs.org/' } })
    await rejectsWith(publishDynamic(pc, { env, dryRun: true }), 'E_PUBLIC_REGISTRY', /from publishConfig\.registry/)
    await rejectsWith(publishDynamic(dir, { env: { ...anonEnv, npm_config_registry: 'https://registry.npmjs.org/' }, dryRun: true }),
      'E_PUBLIC_REGISTRY', /from npm's configuration/)
  })

  test('a wrong token or no token is E_PUBLISH_AUTH, and the token is never shown', async () => {
    const dir = plugin('@acme/auth-dynamic', '1.0.0')
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env: wrongEnv }), 'E_PUBLISH_AUTH', /E401.*npm login --registry/)
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env: anonEnv }), 'E_PUBLISH_AUTH', /ENEEDAUTH/)
    const cli = dynpack(['publish', dir, '--registry', registry.url, '--verbose'], wrongEnv)
    assert.equal(cli.status, 1)
    assert.match(cli.stderr, /^dynpack: E_PUBLISH_AUTH: /m)
    assert.ok(!(cli.stdout + cli.stderr).includes(WRONG_TOKEN), 'the token is not printed')
    assert.equal(npmView('@acme/auth-dynamic', 'versions'), null, 'nothing was published')
  })

  test('re-publishing an existing version is E_PUBLISH_CONFLICT (npm\'s check and the registry\'s 409)', async () => {
    const dir = plugin('@acme/twice-dynamic', '1.0.0')
    await publishDynamic(dir, { registry: registry.url, env })
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env }), 'E_PUBLISH_CONFLICT',
      /@acme\/twice-dynamic@1\.0\.0 is already in .*bump the version/)
    // npm does not look for prereleases before uploading: the registry answers 409.
    const pre = plugin('@acme/twice-dynamic', '1.1.0-rc.1')
    await publishDynamic(pre, { registry: registry.url, tag: 'next', env })
    await rejectsWith(publishDynamic(pre, { registry: registry.url, tag: 'next', env }), 'E_PUBLISH_CONFLICT', /E409/)
    // A dry run finds the conflict too.
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env, dryRun: true }), 'E_PUBLISH_CONFLICT')
  })

  test('warns when the plugin and dist-dynamic package.json disagree on publishConfig', async () => {
    const stale = plugin('@acme/stale-dynamic', '1.0.0', {
      source: true,
      publishConfig: { registry: registry.url },
      sourcePublishConfig: { registry: registry.url, tag: 'next' },
    })
    for (const dir of [stale, path.join(stale, 'dist-dynamic')]) {
      const r = await publishDynamic(dir, { registry: registry.url, env, dryRun: true })
      assert.equal(r.warnings.length, 1)
      assert.match(r.warnings[0], /package\.json and .*dist-dynamic\/package\.json disagree on publishConfig/)
      assert.match(r.warnings[0], /"tag":"next"/)
      assert.match(r.warnings[0], /export was not re-run/)
    }
    const fresh = plugin('@acme/fresh-dynamic', '1.0.0', {
      source: true,
      publishConfig: { registry: registry.url, access: 'public' },
      sourcePublishConfig: { access: 'public', registry: registry.url },
    })
    assert.deepEqual((await publishDynamic(fresh, { env, dryRun: true })).warnings, [])

    const cli = dynpack(['publish', stale, '--registry', registry.url])
    assert.equal(cli.status, 0, cli.stderr)
    assert.match(cli.stderr, /^dynpack: warning: @acme\/stale-dynamic@1\.0\.0: .*disagree on publishConfig/m)
  })

  test('a dry run uploads nothing and reports what would be published', async () => {
    const dir = plugin('@acme/dry-dynamic', '1.0.0')
    const r = await publishDynamic(dir, { registry: registry.url, env, dryRun: true })
    assert.equal(r.published, false)
    assert.equal(r.dryRun, true)
    assert.equal(r.integrity, npmPack(path.join(dir, 'dist-dynamic'), path.join(root, 'dry-npm')).integrity)
    assert.equal(npmView('@acme/dry-dynamic', 'versions'), null)
  })

  test('what npm really uses: publishConfig is checked too, the scope\'s registry first, and --registry beats it', async () => {
    // publishConfig names the public registry, --registry a private one: npm (>= 10.6) uses --registry
    const a = plugin('@acme/pc-public-dynamic', '1.0.0', { publishConfig: { registry: 'https://registry.npmjs.org/', '@acme:registry': 'https://REGISTRY.npmjs.org.:443/' } })
    const ra = await publishDynamic(a, { registry: registry.url, env })
    assert.equal(ra.registrySource, 'option')
    assert.equal(npmView(ra.package, 'dist.integrity'), ra.integrity, 'npm published where dynpack checked')
    assert.equal(ra.warnings.length, 2)
    assert.match(ra.warnings[0], /publishConfig\["registry"\] \("https:\/\/registry\.npmjs\.org\/"\) is overridden by the registry option/)
    // without --registry, publishConfig's scope registry comes first, as npm picks it
    const b = plugin('@acme/pc-scope-dynamic', '1.0.0', { publishConfig: { registry: 'http://127.0.0.1:9/', '@acme:registry': registry.url } })
    const rb = await publishDynamic(b, { env })
    assert.equal(rb.registrySource, 'publishConfigScope')
    assert.equal(npmView(rb.package, 'dist.integrity'), rb.integrity)
    const c = plugin('@acme/pc-scope-public-dynamic', '1.0.0', { publishConfig: { registry: registry.url, '@acme:registry': 'https://Registry.NpmJS.org./' } })
    await rejectsWith(publishDynamic(c, { env, dryRun: true }), 'E_PUBLIC_REGISTRY', /from publishConfig's scope registry/)
  })

  test('an npm older than 10.6 (where publishConfig beats --registry) is refused with E_NPM_TOO_OLD', async () => {
    const old = path.join(root, 'old-npm')
    fs.writeFileSync(old, '#!/bin/sh\nif [ "$1" = --version ]; then echo 10.5.2; exit 0; fi\nexec npm "$@"\n', { mode: 0o755 })
    const dir = plugin('@acme/old-npm-dynamic', '1.0.0')
    await rejectsWith(publishDynamic(dir, { registry: registry.url, env, npm: old }), 'E_NPM_TOO_OLD', /npm 10\.5\.2 is too old.*publishConfig/)
    assert.equal(npmView('@acme/old-npm-dynamic@1.0.0', 'dist.integrity'), null, 'nothing was published')
  })

  test('credentials in a registry URL are refused, never shown and never passed to npm', async () => {
    const SECRET = 'pa55-s3cret-t0ken'
    // an npm that records its argv, then runs the real npm
    const log = path.join(root, 'npm-argv.log')
    const spy = path.join(root, 'spy-npm')
    fs.writeFileSync(spy, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\nexec npm "$@"\n`, { mode: 0o755 })
    const withCreds = registry.url.replace('//', `//ci:${SECRET}@`)
    const dir = plugin('@acme/creds-dynamic', '1.0.0')
    await rejectsWith(publishDynamic(dir, { registry: withCreds, env, npm: spy }), 'E_CREDENTIALS_IN_URL', /carries credentials.*\.npmrc/)
    const pc = plugin('@acme/creds-pc-dynamic', '1.0.0', { publishConfig: { registry: withCreds } })
    await rejectsWith(publishDynamic(pc, { env, npm: spy }), 'E_CREDENTIALS_IN_URL', /from publishConfig\.registry/)
    await rejectsWith(publishDynamic(dir, { env: { ...env, npm_config_registry: withCreds }, npm: spy }), 'E_CREDENTIALS_IN_URL', /npm's configured registry .* carries credentials/)
    for (const bad of [`https://ci:${SECRET}@bad host/`, `//ci:${SECRET}@x`, SECRET, `ftp://ci:${SECRET}@x/`]) {
      await assert.rejects(publishDynamic(dir, { registry: bad, env, npm: spy }), (err) => {
        assert.equal(err.code, 'E_INVALID_OPTION')
        assert.ok(!err.message.includes(SECRET), err.message)
        return true
      })
      const r = dynpack(['publish', dir, '--registry', bad])
      assert.match(r.stderr, /^dynpack: E_(USAGE|INVALID_OPTION): --registry|^dynpack: E_INVALID_OPTION: registry /m)
      assert.ok(!r.stderr.includes(SECRET), r.stderr)
    }
    const cli = dynpack(['publish', dir, '--registry', withCreds])
    assert.match(cli.stderr, /^dynpack: E_CREDENTIALS_IN_URL: /m)
    assert.ok(!(cli.stdout + cli.stderr).includes(SECRET))
    assert.ok(fs.readFileSync(log, 'utf8').length > 0, 'the spy ran')
    assert.ok(!fs.readFileSync(log, 'utf8').includes(SECRET), 'no npm argv carried the secret')
    assert.equal(describeUrl(`https://u:${SECRET}@h/x?token=${SECRET}`), '"https://***@h/x?***"')
  })

  test('bad input is reported before npm runs', async () => {
    await rejectsWith(publishDynamic(path.join(root, 'nope'), { env }), 'E_NOT_FOUND')
    const empty = path.join(root, 'empty-plugin')
    fs.mkdirSync(empty, { recursive: true })
    await rejectsWith(publishDynamic(empty, { env }), 'E_NO_PACKAGE_JSON', /run the dynamic-plugin export/)
    const dir = plugin('@acme/bad-option-dynamic', '1.0.0')
    await rejectsWith(publishDynamic(dir, { registry: 'ftp://x', env }), 'E_INVALID_OPTION', /http\(s\) URL/)
    await rejectsWith(publishDynamic(dir, { registry: registry.url, tag: 'a b', env }), 'E_INVALID_OPTION')
    const priv = path.join(root, 'private-plugin')
    writeTree(priv, { 'package.json': { json: { name: 'private-dynamic', version: '1.0.0', private: true } } })
    await rejectsWith(publishDynamic(priv, { registry: registry.url, env }), 'E_PUBLISH_FAILED', /"private": true/)
  })
})

describe('dynpack publish', { skip: SKIP }, () => {
  test('publishes several plugins in parallel; one failure does not hide the others', async () => {
    const a = plugin('@acme/cli-a-dynamic', '1.0.0', { source: true, appConfig: 'acme:\n  a: true\n' })
    const b = plugin('cli-b-dynamic', '2.0.0')
    const taken = plugin('@acme/cli-taken-dynamic', '1.0.0')
    await publishDynamic(taken, { registry: registry.url, env })

    const r = dynpack(['publish', a, b, taken, '--registry', registry.url])
    assert.equal(r.status, 1, r.stderr)
    const errors = r.stderr.split('\n').filter((l) => /^dynpack: E_/.test(l))
    assert.equal(errors.length, 2, r.stderr)
    assert.match(errors[0], /^dynpack: E_PUBLISH_CONFLICT: .*@acme\/cli-taken-dynamic@1\.0\.0 is already in/)
    assert.match(errors[1], /^dynpack: E_PUBLISH_CONFLICT: 1 of 3 plugins were not published/)

    const ia = npmView('@acme/cli-a-dynamic@1.0.0', 'dist.integrity')
    const ib = npmView('cli-b-dynamic@2.0.0', 'dist.integrity')
    assert.ok(ia && ib, 'both others were published')
    assert.match(r.stdout, new RegExp(`^published @acme/cli-a-dynamic@1\\.0\\.0 to ${registry.url} with tag latest$`, 'm'))
    assert.match(r.stdout, /^published cli-b-dynamic@2\.0\.0 to /m)
    assert.ok(r.stdout.includes([
      'plugins:',
      '  - package: "@acme/cli-a-dynamic@1.0.0"',
      `    integrity: ${ia}`,
      '    disabled: false',
      '    pluginConfig:',
      '      acme:',
      '        a: true',
      '  - package: cli-b-dynamic@2.0.0',
      `    integrity: ${ib}`,
      '    disabled: false',
    ].join('\n')), r.stdout)
    assert.match(r.stdout, /dynamic-plugins-npmrc/)
    assert.ok(r.stdout.includes(`@acme:registry=${registry.url}\n`))
    assert.ok(r.stdout.includes(`\nregistry=${registry.url}\n`))
    assert.ok(r.stdout.includes(`${registry.url.replace(/^http:/, '')}:_authToken=<auth-token>\n`))
    assert.ok(!r.stdout.includes(token), 'the real token is never printed')
  })

  test('the printed dynamic-plugins.yaml reads the same with yaml and PyYAML, whatever the app-config holds', (t) => {
    if (spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI === 'true') throw new Error('python3 with PyYAML (python3-yaml) is required in CI')
      return t.skip('python3 with PyYAML is not installed')
    }
    const appConfig = '# a\r- package: evil-cr\n# b\u2028- package: evil-ls\nacme:\n  t: "x\u0085- package: evil-nel"\n  on: yes\n'
    const dir = plugin('@acme/cli-yaml-dynamic', '1.0.0', { source: true, appConfig })
    const r = dynpack(['publish', dir, '--registry', registry.url, '--dry-run'])
    assert.equal(r.status, 0, r.stderr)
    const text = r.stdout.slice(r.stdout.indexOf('\nplugins:\n') + 1, r.stdout.indexOf('\n# .npmrc'))
    const integrity = npmPack(path.join(dir, 'dist-dynamic'), path.join(root, 'cli-yaml-npm')).integrity
    const expected = { plugins: [{ package: '@acme/cli-yaml-dynamic@1.0.0', integrity, disabled: false, pluginConfig: { acme: { t: 'x\u0085- package: evil-nel', on: 'yes' } } }] }
    const YAML = require('yaml')
    assert.deepEqual(YAML.parse(text), expected)
    const py = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text, encoding: 'utf8' })
    assert.equal(py.status, 0, py.stderr)
    assert.deepEqual(JSON.parse(py.stdout), expected)
  })

  test('--json gives one object per folder, failures included', async () => {
    const ok = plugin('@acme/json-ok-dynamic', '1.0.0')
    const r = dynpack(['publish', ok, path.join(root, 'missing'), '--registry', registry.url, '--json'])
    assert.equal(r.status, 1)
    const out = JSON.parse(r.stdout)
    assert.equal(out.length, 2)
    assert.equal(out[0].ok, true)
    assert.equal(out[0].package, '@acme/json-ok-dynamic@1.0.0')
    assert.equal(out[0].integrity, npmView(out[0].package, 'dist.integrity'))
    assert.deepEqual(Object.keys(out[1]), ['ok', 'dir', 'error'])
    assert.equal(out[1].error.code, 'E_NOT_FOUND')
  })

  test('--dry-run prints the entries and uploads nothing; the public registry is refused', async () => {
    const dir = plugin('@acme/cli-dry-dynamic', '3.0.0')
    const r = dynpack(['publish', dir, '--registry', registry.url, '--dry-run', '--tag', 'rc'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^would publish @acme\/cli-dry-dynamic@3\.0\.0 to .* with tag rc$/m)
    const integrity = npmPack(path.join(dir, 'dist-dynamic'), path.join(root, 'cli-dry-npm')).integrity
    assert.ok(r.stdout.includes(`    integrity: ${integrity}\n`))
    assert.equal(npmView('@acme/cli-dry-dynamic', 'versions'), null)

    const pub = dynpack(['publish', dir, '--registry', 'https://registry.npmjs.org/'])
    assert.equal(pub.status, 1)
    assert.equal(pub.stdout, '')
    // a plugin folder: the note says its dist-dynamic is used (as for every command), then the one error line
    assert.match(pub.stderr, /^dynpack: using .*\/dist-dynamic, the dynamic plugin exported from .*\ndynpack: E_PUBLIC_REGISTRY: .*run-time artifact/)
    assert.equal(pub.stderr.trim().split('\n').length, 2)
  })
})

describe('publish helpers', () => {
  test('usage errors exit 2; --help prints the usage', () => {
    for (const args of [['--frob'], ['--registry'], ['--registry', ''], ['--registry', 'not a url'], ['--tag', 'a b']]) {
      const r = dynpack(['publish', ...args], process.env)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /^dynpack: E_USAGE: .*`dynpack publish --help`/m)
    }
    const h = dynpack(['publish', '--help'], process.env)
    assert.equal(h.status, 0)
    assert.match(h.stdout, /^Usage: dynpack publish /)
    assert.match(h.stdout, /--allow-public-registry/)
  })


  test('redact hides credentials in npm output', () => {
    const text = '//r.example/:_authToken=abc123 _auth = "dXNlcjpw" Authorization: Bearer eyJhbGci.x ' +
      'https://user:s3cret@r.example/ npm_abcdefghijklmnopqrstuvwxyz0123456789 and MYSECRETVALUE'
    const out = redact(text, { NPM_TOKEN: 'MYSECRETVALUE', HOME: '/root/home/dir' })
    for (const secret of ['abc123', 'dXNlcjpw', 'eyJhbGci', 's3cret', 'abcdefghijklmnopqrstuvwxyz0123456789', 'MYSECRETVALUE']) {
      assert.ok(!out.includes(secret), `${secret} hidden in ${out}`)
    }
    assert.match(out, /_authToken=\*\*\*/)
  })

  test('isPublicRegistry knows the public hosts only', () => {
    assert.equal(isPublicRegistry('https://registry.npmjs.org/'), true)
    assert.equal(isPublicRegistry('https://REGISTRY.NPMJS.ORG/'), true)
    assert.equal(isPublicRegistry('http://registry.yarnpkg.com/x/'), true)
    for (const spelling of ['https://registry.npmjs.org./', 'https://Registry.NpmJS.org:443/', 'http://registry.npmjs.org:80/',
      'https://registry%2enpmjs.org/', 'https://registry\u3002npmjs.org/', 'https://replicate.npmjs.com/', 'https://registry.yarnpkg.com../']) {
      assert.equal(isPublicRegistry(spelling), true, spelling)
    }
    assert.equal(isPublicRegistry('https://evilnpmjs.org/'), false)
    assert.equal(isPublicRegistry('https://npm.pkg.github.com/'), false)
    assert.equal(isPublicRegistry('https://registry.npmjs.org.example.com/'), false)
  })

  test('the RHDH .npmrc routes scopes, and says so for unscoped packages', () => {
    assert.equal(rhdhNpmrc([
      { name: '@a/x', registry: 'https://npm.example.com/repo/' },
      { name: '@a/y', registry: 'https://npm.example.com/repo/' },
      { name: 'z', registry: 'http://10.0.0.1:4873/' },
    ]), [
      '@a:registry=https://npm.example.com/repo/',
      '# unscoped packages: every npm download of the installer goes to this registry',
      'registry=http://10.0.0.1:4873/',
      '# only if the registries need a token to read:',
      '//npm.example.com/repo/:_authToken=<auth-token>',
      '//10.0.0.1:4873/:_authToken=<auth-token>',
      '',
    ].join('\n'))
  })
})
