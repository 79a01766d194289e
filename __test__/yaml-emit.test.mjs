// The dynamic-plugins.yaml snippets dynpack prints, read back by both parsers
// that matter: `yaml` (what Backstage reads app-config with) and PyYAML (RHDH's
// plugin installer). Each snippet must parse to exactly the intended
// structure, whatever the app-config or the package name holds: a lone `\r`,
// U+0085, U+2028 or U+2029 must not add a line (and so a plugin entry). The
// app-config itself is never read through a link that leaves the plugin folder.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const YAML = require('yaml')
const { pluginsYaml } = require('../lib/yaml.js')

const CI = process.env.CI === 'true'
const PY_MISSING = (() => {
  if (spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0) return false
  if (CI) throw new Error('python3 with PyYAML (python3-yaml) is required in CI')
  return 'python3 with PyYAML (python3-yaml) is not installed'
})()

/** PyYAML's safe_load of each text (as RHDH's installer loads dynamic-plugins.yaml), as JSON values. */
function pyYaml (texts) {
  const script = [
    'import json, math, sys, yaml',
    'def finite(v):',
    '    if isinstance(v, float) and not math.isfinite(v):',
    '        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")',
    '    if isinstance(v, list):',
    '        return [finite(x) for x in v]',
    '    if isinstance(v, dict):',
    '        return {k: finite(x) for k, x in v.items()}',
    '    return v',
    'def load(t):',
    '    try:',
    '        return finite(yaml.safe_load(t))',
    '    except yaml.YAMLError as e:',
    '        return {"PyYAML error": str(e)}',
    'print(json.dumps([load(t) for t in json.load(sys.stdin)]))',
  ].join('\n')
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** `yaml`'s reading of each text, as JSON values. */
function jsYaml (texts) {
  return texts.map((t) => {
    const doc = YAML.parseDocument(t)
    if (doc.errors.length) throw new Error(`yaml failed: ${doc.errors[0].message}\n${t}`)
    return JSON.parse(JSON.stringify(doc.toJS(), finite))
  })
}

/** What an app-config means: its first document, as Backstage's loader reads it, merge keys applied. */
function meaning (text) {
  const [doc] = YAML.parseAllDocuments(text.replace(/^\uFEFF/, ''), { merge: true })
  const value = doc ? doc.toJS({ maxAliasCount: -1 }) : null
  return value == null ? undefined : JSON.parse(JSON.stringify(value, finite))
}

/** JSON has no Infinity or NaN: both sides write them as strings. */
function finite (_, v) {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v
}

/** Asserts that both parsers read every text as the matching expected value. */
function assertBothRead (texts, expected) {
  const js = jsYaml(texts)
  const py = pyYaml(texts)
  for (let i = 0; i < texts.length; i++) {
    assert.deepEqual(js[i], expected[i], `yaml reads snippet ${i} differently:\n${JSON.stringify(texts[i])}`)
    assert.deepEqual(py[i], expected[i], `PyYAML reads snippet ${i} differently:\n${JSON.stringify(texts[i])}`)
  }
}

/** app-config texts that are valid YAML 1.2 and try to break out of `pluginConfig`. */
const HOSTILE_CONFIGS = {
  'lone CR in a quoted string': 'a: "x\ry"\n',
  'lone CR in a comment': '# note\r- package: evil-cr\nb: 1\n',
  'NEL in a comment': '# note\u0085- package: evil-nel\nb: 1\n',
  'LS in a comment': '# note\u2028- package: evil-ls\nb: 1\n',
  'PS in a trailing comment': 'b: 1 # note\u2029- package: evil-ps\n',
  'NEL, LS, PS in plain scalars': 'a: x\u0085y\nb: x\u2028- package evil\nc: x\u2029y\n',
  'NEL, LS, PS in quoted scalars': "a: 'x\u0085- package: evil'\nb: \"x\u2028y\"\n",
  'LS in a block scalar': 'a: |\n  line\u2028- package: evil\n  two\n',
  'LS in a key': 'x\u2028y: 1\n',
  'C1 controls, BOM, non-characters (escaped)': 'a: "\\x80\\x9f\\uFEFF\\uFFFE"\n',
  'YAML 1.1 booleans, octal, dates, underscores': 'a: yes\nb: on\nc: 0o14\nd: 2001-12-14\ne: "1_000"\nf: 0x1f\ng: ~\n',
  'anchors, aliases and merge keys': 'base: &b {r: 3, s: [1, 2]}\nt:\n  <<: *b\n  r: 4\nu: *b\n',
  'a second document is ignored': 'a: 1\n---\n- package: evil-doc\n',
  'CRLF and a directive': '%YAML 1.2\r\n---\r\na: 1\r\nb: |\r\n  x\r\n',
  // found by the seeded generator below
  'a block scalar header comment': 'a: | # not content\n  x\nb: > # nor this\n  y\n',
  'numbers YAML 1.1 reads as strings unless written with a dot': 'a: 1e-7\nb: 1e+21\nc: -2.5e-300\n',
  'a tab in a plain scalar, YAML 1.1 value and merge types as strings': 'a: x\ty\nb: "="\nc: "<<"\n',
  'an explicit null document': 'null\n',
  'comments only': '# nothing\n',
  'empty': '',
}

/** Package names and comment texts that try the same. */
const HOSTILE_NAMES = [
  'p\r- package: evil',
  'p\u0085- package: evil',
  'p\u2028- package: evil',
  'p\u2029- package: evil',
  'p\n- package: evil',
  "p' # \"",
  'yes',
]

describe('pluginsYaml', { skip: PY_MISSING }, () => {
  test('every hostile app-config reads back, with both parsers, as exactly one entry with its meaning', () => {
    const names = Object.keys(HOSTILE_CONFIGS)
    const texts = names.map((n) => pluginsYaml([{ package: 'oci://q.io/a/b:1!x', comments: ['package: oci://q.io/a/b@sha256:00!x'], integrity: 'sha512-abc', pluginConfig: HOSTILE_CONFIGS[n] }]))
    const expected = names.map((n) => {
      const entry = { package: 'oci://q.io/a/b:1!x', integrity: 'sha512-abc', disabled: false }
      const config = meaning(HOSTILE_CONFIGS[n])
      if (config !== undefined) entry.pluginConfig = config
      return { plugins: [entry] }
    })
    assertBothRead(texts, expected)
    assert.equal(meaning(HOSTILE_CONFIGS['anchors, aliases and merge keys']).t.r, 4, 'explicit keys win over merged ones')
  })

  test('package names and comments cannot add lines', () => {
    const texts = HOSTILE_NAMES.map((name) => pluginsYaml([
      { package: name, comments: [`package: ${name}`, name], integrity: name, pluginConfig: 'a: 1\n' },
      { package: 'second' },
    ]))
    const expected = HOSTILE_NAMES.map((name) => ({
      plugins: [{ package: name, integrity: name, disabled: false, pluginConfig: { a: 1 } }, { package: 'second', disabled: false }],
    }))
    assertBothRead(texts, expected)
    // the comment stays one comment line under `package:`
    const text = pluginsYaml([{ package: 'a', comments: ['package: b\u2028- package: evil'] }])
    assert.equal(text, 'plugins:\n  - package: a\n    # package: b - package: evil\n    disabled: false\n')
  })

  test('comments of the app-config are kept', () => {
    const text = pluginsYaml([{ package: 'a', pluginConfig: '# The settings\ntodo:\n  # how often\n  every: 5 # minutes\n' }])
    assert.equal(text, [
      'plugins:',
      '  - package: a',
      '    disabled: false',
      '    pluginConfig:',
      '      # The settings',
      '      todo:',
      '        # how often',
      '        every: 5 # minutes',
      '',
    ].join('\n'))
  })

  test('an app-config that is not plain YAML is refused with E_INVALID_APP_CONFIG', () => {
    for (const bad of ['a: [1\n', 'a: 1\na: 2\n', 'a: !!binary aGk=\n', 'a: !custom x\n', 'a: *nowhere\n', ': x\n', '~: 1\n', '? [a]\n: 1\n']) {
      assert.throws(() => pluginsYaml([{ package: 'a', pluginConfig: bad, pluginConfigFile: '/p/app-config.yaml' }]),
        (err) => err.code === 'E_INVALID_APP_CONFIG' && /^\/p\/app-config\.yaml: /.test(err.message), JSON.stringify(bad))
    }
    // a billion laughs expands only so far
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`)
    assert.throws(() => pluginsYaml([{ package: 'a', pluginConfig: laughs.join('\n') + '\n' }]), { code: 'E_INVALID_APP_CONFIG' })
  })
})

describe('pluginsYaml on generated app-configs', { skip: PY_MISSING }, () => {
  /** xorshift32: the same samples on every run. */
  function random (seed) {
    let x = seed >>> 0 || 1
    return (n) => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n }
  }
  const TOKENS = ['a', 'Zz', '-', ' ', ': ', '#', '\r', '\n', '\r\n', '\u0085', '\u2028', '\u2029', '\t', '"', "'", '\\',
    'yes', 'on', 'No', '0o17', '1_000', '0x1F', '~', 'null', '*x', '&x', '!', '!!str', '%', '@', '`', '{', '}', '[', ']',
    ',', '?', '|', '>', '\uFEFF', 'é', '😀', '\u007F', '\u009B', '---', '...', '<<', '- package: evil', '2001-12-14', '.inf', '=']
  function text (r) {
    let s = ''
    for (let i = r(6); i >= 0; i--) s += TOKENS[r(TOKENS.length)]
    return s
  }
  function value (r, depth) {
    switch (depth > 3 ? r(4) : r(7)) {
      case 0: return text(r)
      case 1: return [0, 1, -7, 12345678901234567000, 1e21, 1e-7, 0.5, -2.5e-300, 3.25][r(9)]
      case 2: return [true, false, null][r(3)]
      case 3: return text(r)
      case 4: return Array.from({ length: r(4) }, () => value(r, depth + 1))
      default: return Object.fromEntries(Array.from({ length: r(4) + 1 }, () => [text(r), value(r, depth + 1)]))
    }
  }

  // DYNPACK_YAML_SAMPLES=N and DYNPACK_YAML_SEED=S run a longer or different campaign
  const COUNT = Number(process.env.DYNPACK_YAML_SAMPLES ?? 3000)
  const SEED = Number(process.env.DYNPACK_YAML_SEED ?? 20261201)
  test(`${COUNT} seeded app-configs with hostile strings and comments: both parsers read exactly one entry with their meaning`, () => {
    const r = random(SEED)
    const samples = []
    let refused = 0
    for (let i = 0; i < COUNT; i++) {
      const lines = YAML.stringify(value(r, 0)).split('\n')
      // comments with hostile text between lines and at line ends
      for (let c = r(3); c > 0; c--) lines.splice(r(lines.length + 1), 0, `# ${text(r).replace(/[\r\n]/g, ' ')}`)
      if (r(2)) lines[0] += ` # ${text(r).replace(/[\r\n]/g, ' ')}`
      const config = lines.join(r(4) ? '\n' : '\r\n')
      let snippet
      try {
        snippet = pluginsYaml([{ package: `p${text(r)}`, comments: [text(r)], integrity: 'sha512-x', pluginConfig: config }])
      } catch (err) {
        assert.equal(err.code, 'E_INVALID_APP_CONFIG', err.stack)
        refused++
        continue
      }
      samples.push({ config, snippet })
    }
    console.log(`# ${samples.length} generated app-configs emitted, ${refused} refused as invalid YAML`)
    assert.ok(samples.length > COUNT * 0.6, `${samples.length} samples kept, ${refused} refused`)
    const py = pyYaml(samples.map((s) => s.snippet))
    const js = jsYaml(samples.map((s) => s.snippet))
    samples.forEach(({ config, snippet }, i) => {
      const entry = js[i].plugins[0]
      const expected = { plugins: [{ package: entry.package, integrity: 'sha512-x', disabled: false }] }
      const meant = meaning(config)
      if (meant !== undefined) expected.plugins[0].pluginConfig = meant
      assert.deepEqual(js[i], expected, `yaml, sample ${i}: ${JSON.stringify(config)}\n${snippet}`)
      assert.deepEqual(py[i], expected, `PyYAML, sample ${i}: ${JSON.stringify(config)}\n${snippet}`)
    })
  })
})

describe('the printed snippets of the CLI', { skip: PY_MISSING }, () => {
  let root
  before(() => { root = tempDir('dynpack-yaml-emit-') })
  after(() => { if (root) fs.rmSync(root, { recursive: true, force: true }) })

  /** A plugin folder with dist-dynamic/ and the given app-config.yaml text. */
  function plugin (dir, name, appConfig) {
    writeTree(dir, {
      'package.json': { json: { name: name.replace(/-dynamic$/, ''), version: '1.0.0', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/package.json': { json: { name, version: '1.0.0', main: 'index.js', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/index.js': 'module.exports = 1\n',
    })
    if (appConfig !== undefined) fs.writeFileSync(path.join(dir, 'app-config.yaml'), appConfig)
    return dir
  }

  function dynpack (args, cwd = root) {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  const evil = [
    '# settings\r- package: evil-cr',
    '# more\u2028- package: evil-ls',
    'todo:',
    '  title: "a\u0085- package: evil-nel"',
    '  text: x\u2029y',
    '  on: yes',
    '',
  ].join('\n')

  test('pack --base-url, package -t, package --export-to: one entry per plugin, pluginConfig as written', () => {
    const a = plugin(path.join(root, 'a'), '@acme/plugin-a\u2028- package: evil-dynamic', evil)
    const b = plugin(path.join(root, 'b'), '@acme/plugin-b-dynamic', 'b: 1\n')
    const config = meaning(evil)
    assert.deepEqual(config, { todo: { title: 'a\u0085- package: evil-nel', text: 'x\u2029y', on: 'yes' } })

    const pack = dynpack(['pack', path.join(a, 'dist-dynamic'), path.join(b, 'dist-dynamic'), '--dry-run', '--base-url', 'http://r:8080'])
    assert.equal(pack.status, 0, pack.stderr)
    const packYaml = pack.stdout.slice(pack.stdout.indexOf('\n# dynamic-plugins.yaml'))

    const image = dynpack(['package', a, '-t', 'quay.io/acme/x:1', '--output', path.join(root, 'oci'), '-q'])
    assert.equal(image.status, 0, image.stderr)
    const exp = dynpack(['package', a, '--export-to', path.join(root, 'export')])
    assert.equal(exp.status, 0, exp.stderr)
    const expYaml = exp.stdout.slice(exp.stdout.indexOf('\nplugins:\n') + 1)

    const dir = 'acme-plugin-a\u2028- package: evil'
    const [fromPack] = jsYaml([packYaml])
    assert.equal(fromPack.plugins.length, 2)
    assertBothRead([packYaml, image.stdout, expYaml], [
      {
        plugins: [
          { package: fromPack.plugins[0].package, integrity: fromPack.plugins[0].integrity, disabled: false, pluginConfig: config },
          { package: fromPack.plugins[1].package, integrity: fromPack.plugins[1].integrity, disabled: false, pluginConfig: { b: 1 } },
        ],
      },
      { plugins: [{ package: `oci://quay.io/acme/x:1!${dir}`, disabled: false, pluginConfig: config }] },
      { plugins: [{ package: `./local-plugins/${dir}`, disabled: false, pluginConfig: config }] },
    ])
    assert.match(fromPack.plugins[0].package, /^http:\/\/r:8080\/acme-plugin-a%E2%80%A8-%20package%3A%20evil-dynamic-1\.0\.0\.tgz$/)
    // the by-digest comment stays one comment line: uncommented, it is the pinned entry
    const pinned = image.stdout.replace(/^ {2}- package: .*\n {4}# package: /m, '  - package: ')
    const [doc] = pyYaml([pinned])
    assert.match(doc.plugins[0].package, /^oci:\/\/quay\.io\/acme\/x@sha256:[0-9a-f]{64}!acme-plugin-a/)
    assert.equal(doc.plugins.length, 1)

    // --json: the file, its text and what it means
    const json = dynpack(['package', a, '--export-to', path.join(root, 'export-json'), '--json'])
    assert.equal(json.status, 0, json.stderr)
    const p = JSON.parse(json.stdout).plugins[0].pluginConfig
    assert.deepEqual(p, { file: path.join(a, 'app-config.yaml'), yaml: evil, config })
  })

  test('an app-config that is not valid YAML fails with E_INVALID_APP_CONFIG before anything is written', () => {
    const a = plugin(path.join(root, 'bad'), '@acme/plugin-bad-dynamic', 'a: [1\n')
    for (const args of [['package', a, '--export-to', path.join(root, 'bad-export')], ['pack', path.join(a, 'dist-dynamic'), '--pack-destination', path.join(root, 'bad-pack'), '--base-url', 'http://r']]) {
      const r = dynpack(args)
      assert.equal(r.status, 1)
      assert.match(r.stderr, /^dynpack: E_INVALID_APP_CONFIG: .*bad\/app-config\.yaml: not valid YAML/m)
      assert.ok(!fs.existsSync(path.join(root, 'bad-export')) || fs.readdirSync(path.join(root, 'bad-export')).length === 0)
      assert.ok(!fs.existsSync(path.join(root, 'bad-pack')) || fs.readdirSync(path.join(root, 'bad-pack')).length === 0)
    }
  })
})

describe('app-config through links', () => {
  let root
  before(() => { root = tempDir('dynpack-app-config-link-') })
  after(() => { if (root) fs.rmSync(root, { recursive: true, force: true }) })

  function plugin (dir) {
    return writeTree(dir, {
      'package.json': { json: { name: '@acme/l', version: '1.0.0', backstage: { role: 'backend-plugin' } } },
      'dist-dynamic/package.json': { json: { name: '@acme/l-dynamic', version: '1.0.0', backstage: { role: 'backend-plugin' } } },
    })
  }
  function dynpack (args) {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8' })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  test('a link that leaves the plugin folder is refused with E_LINK_OUTSIDE, and its content never printed', () => {
    const secret = path.join(root, 'npmrc')
    fs.writeFileSync(secret, '//registry.example.com/:_authToken: s3cr3t-token\n')
    const cases = {
      direct: { 'app-config.yaml': { symlink: secret } },
      relative: { 'app-config.yaml': { symlink: '../npmrc' } },
      'through a folder link': { conf: { symlink: root }, 'app-config.yaml': { symlink: 'conf/npmrc' } },
      'first-choice name': { 'app-config.janus-idp.yaml': { symlink: secret }, 'app-config.yaml': 'ok: 1\n' },
    }
    for (const [name, tree] of Object.entries(cases)) {
      const dir = plugin(path.join(root, name.replace(/ /g, '-')))
      writeTree(dir, tree)
      for (const args of [['package', dir, '--export-to', path.join(dir, 'out'), '--json'], ['pack', path.join(dir, 'dist-dynamic'), '--dry-run', '--base-url', 'http://r']]) {
        const r = dynpack(args)
        assert.equal(r.status, 1, `${name}: ${r.stdout}`)
        assert.match(r.stderr, /^dynpack: E_LINK_OUTSIDE: .*app-config[.a-z-]*\.yaml: it is a link to .*, outside the plugin folder/m, name)
        assert.ok(!(r.stdout + r.stderr).includes('s3cr3t'), `${name}: the secret is never printed`)
      }
    }
  })

  test('a link to a file inside the plugin folder is read; a dangling link is no app-config', () => {
    const dir = plugin(path.join(root, 'inside'))
    writeTree(dir, { 'config/app-config.yaml': 'inside: true\n', 'app-config.yaml': { symlink: 'config/app-config.yaml' } })
    const r = dynpack(['package', dir, '--export-to', path.join(root, 'inside-out'), '-q'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /pluginConfig:\n {6}inside: true\n/)
    const dangling = plugin(path.join(root, 'dangling'))
    writeTree(dangling, { 'app-config.yaml': { symlink: path.join(os.tmpdir(), 'dynpack-no-such-file') } })
    const d = dynpack(['package', dangling, '--export-to', path.join(root, 'dangling-out'), '-q'])
    assert.equal(d.status, 0, d.stderr)
    assert.doesNotMatch(d.stdout, /pluginConfig/)
  })
})
