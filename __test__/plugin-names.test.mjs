// One rule for plugin folder names (src/plugin.rs directory_name and
// check_directory): the CLI's --export-to (lib/folders.js) calls it
// through the addon, and images use it in Rust. A shared table of names
// shows both sides give the same folder, or refuse the same names.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { tempDir, writeTree } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const { buildOciLayout } = require('../lib/api.js')
const { pluginDirectory } = require('../lib/folders.js')

let root
before(() => { root = tempDir('dynpack-names-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

const TABLE = [
  ['@scope/plugin-x-dynamic', 'scope-plugin-x'],
  ['plugin-y-dynamic', 'plugin-y'],
  ['plugin-z', 'plugin-z'],
  ['@a/b-dynamic-dynamic', 'a-b-dynamic'],
  ['@ünï/cödé', 'ünï-cödé'],
  ['@../../y', null],
  ['@x/../../y', null],
  ['@x/y/z', null],
  ['a\\b', null],
  ['@x/y\\z', null],
  ['.hidden', null],
  ['@.x/y', null],
  ['-dynamic', null],
  ['.', null],
  ['..-dynamic', null],
  ['x\u0007y', null],
  ['x\ny', null],
]

test('the CLI and images name plugin folders by one rule', async () => {
  let i = 0
  for (const [name, expected] of TABLE) {
    const file = path.join(root, `p${++i}`, 'package.json')
    let cli
    try {
      cli = pluginDirectory(name, file)
    } catch (e) {
      assert.equal(e.code, 'E_INVALID_MANIFEST', `${name}: ${e.message}`)
      assert.ok(e.message.startsWith(file), e.message)
      cli = null
    }
    assert.equal(cli, expected, JSON.stringify(name))

    const dir = writeTree(path.dirname(file), { 'package.json': { json: { name, version: '1.0.0' } }, 'dist/index.js': '1' })
    let image
    try {
      image = (await buildOciLayout(dir, { output: path.join(root, `out${i}`), tag: 'quay.io/example/names:v1' })).plugins[0].directory
    } catch (e) {
      assert.equal(e.code, 'E_INVALID_MANIFEST', `${name}: ${e.message}`)
      image = null
    }
    assert.equal(image, expected, `image folder of ${JSON.stringify(name)}`)
  }
})

// The tgz file name has one rule too (src/pack.rs tarball_file_name: the
// leading `@` dropped, every `/` and `\` made `-`); `dynpack pack` uses it
// for its collision check and its --base-url URLs, not npm's report name.
const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'dynpack.js')
const dynpack = (args) => spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8' })

test('dynpack pack: two names that write the same tgz are a usage error, not a silent overwrite', () => {
  const a = writeTree(path.join(root, 'coll-a'), { 'package.json': { json: { name: 'a-b', version: '1.0.0' } } })
  const b = writeTree(path.join(root, 'coll-b'), { 'package.json': { json: { name: 'a\\b', version: '1.0.0' } } })
  const r = dynpack(['pack', a, b, '--pack-destination', path.join(root, 'coll-out')])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /E_USAGE: .*both pack to a-b-1\.0\.0\.tgz/)
  assert.ok(!fs.existsSync(path.join(root, 'coll-out')) || fs.readdirSync(path.join(root, 'coll-out')).length === 0)
})

test('dynpack pack --base-url: the URL names the file written', () => {
  const dir = writeTree(path.join(root, 'url'), { 'package.json': { json: { name: '@x/a/b', version: '1.0.0' } }, 'i.js': '1' })
  const out = path.join(root, 'url-out')
  const r = dynpack(['pack', dir, '--pack-destination', out, '--json', '--base-url', 'http://plugins:8080'])
  assert.equal(r.status, 0, r.stderr)
  const [report] = JSON.parse(r.stdout)
  assert.deepEqual(fs.readdirSync(out), ['x-a-b-1.0.0.tgz'])
  assert.equal(report.package, 'http://plugins:8080/x-a-b-1.0.0.tgz')
})
