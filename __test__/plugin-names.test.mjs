// One rule for plugin folder names (src/plugin.rs directory_name and
// check_directory): the CLI's --export-to (lib/cli/discover.js) calls it
// through the addon, and images use it in Rust. A shared table of names
// shows both sides give the same folder, or refuse the same names.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { tempDir, writeTree } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const { buildOciLayout } = require('../lib/api.js')
const { pluginDirectory } = require('../lib/cli/discover.js')

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
