// README.md cannot drift from the code: every ```js and ```sh block runs
// against the example monorepo (examples/make-examples.js), each in its own
// temporary copy of it, with `dynpack` (and `npx dynpack`) on PATH and
// require('dynpack') resolving to this checkout. In a js block, a line
// `EXPR  // 'text'` asserts that EXPR (awaited) is that text, where `…`
// stands for anything. A block preceded by `<!-- readme-test: skip (why) -->`
// is skipped, and reported with its reason. The demo (`npm run demo`) and the
// command table are checked against what runs too.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const checkout = path.join(here, '..')
const README = path.join(checkout, 'README.md')
const { makeExamples } = require('../examples/make-examples.js')
const { allCommands } = require('../lib/cli/main.js')

const SKIP = /^<!--\s*readme-test:\s*skip\s*\(([^)]*)\)\s*-->$/

/** The fenced blocks of a Markdown text: `{ lang, line, code, skip }`, `skip` the reason or null. */
export function readmeBlocks (text) {
  const lines = text.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i])
    if (!open) continue
    let end = i + 1
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    let before = i - 1
    while (before >= 0 && lines[before].trim() === '') before--
    const skip = before >= 0 ? SKIP.exec(lines[before].trim())?.[1] ?? null : null
    blocks.push({ lang: open[1], line: i + 1, code: lines.slice(i + 1, end).join('\n') + '\n', skip })
    i = end
  }
  return blocks
}

/** A js block as a CommonJS script: wrapped for top-level await, `// 'text'` lines turned into checks. */
function jsScript (code, line) {
  const body = code.split('\n').map((l, k) => {
    const m = /^(\s*)(?!const |let |var |import |\/\/)(\S.*?)\s+\/\/ ('(?:[^'\\]|\\.)*')/.exec(l)
    return m ? `${m[1]}__expect(await (${m[2]}), ${m[3]}, ${line + 1 + k})` : l
  }).join('\n')
  return `'use strict'
function __expect (actual, wanted, line) {
  const re = new RegExp('^' + wanted.split('…').map((s) => s.replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&')).join('[\\\\s\\\\S]*') + '$')
  if (!re.test(String(actual))) throw new Error('README.md:' + line + ': got ' + JSON.stringify(actual) + ', the README says ' + JSON.stringify(wanted))
}
;(async () => {
${body}
})().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1) })
`
}

const SH_PREAMBLE = `set -euo pipefail
# \`npx dynpack\` is this checkout's dynpack (never a download)
npx () { if [ "$1" = dynpack ]; then shift; dynpack "$@"; else command npx "$@"; fi; }
`

let root
let template
let bin
before(() => {
  root = tempDir('dynpack-readme-')
  template = path.join(root, 'template')
  makeExamples(template)
  // require('dynpack') in any copy resolves to the checkout
  fs.mkdirSync(path.join(template, 'node_modules'), { recursive: true })
  fs.symlinkSync(checkout, path.join(template, 'node_modules', 'dynpack'), 'dir')
  bin = path.join(root, 'bin')
  fs.mkdirSync(bin)
  fs.writeFileSync(path.join(bin, 'dynpack'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(checkout, 'bin', 'dynpack.js')}" "$@"\n`, { mode: 0o755 })
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

/** Runs one block in a fresh copy of the examples; resolves { status, stdout, stderr }. */
function runBlock (block, n) {
  const dir = path.join(root, `block-${n}-line-${block.line}`)
  fs.cpSync(template, dir, { recursive: true, verbatimSymlinks: true })
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NODE_PATH: '' }
  if (block.lang === 'js') {
    const file = path.join(dir, '.readme-block.js')
    fs.writeFileSync(file, jsScript(block.code, block.line))
    return spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
  }
  return spawnSync('bash', ['-c', SH_PREAMBLE + block.code], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
}

describe('README.md examples', () => {
  const blocks = readmeBlocks(fs.readFileSync(README, 'utf8')).filter((b) => b.lang === 'js' || b.lang === 'sh')
  const skipped = blocks.filter((b) => b.skip)

  test('the harness finds the examples, and skips only marked ones', (t) => {
    assert.ok(blocks.filter((b) => b.lang === 'js').length >= 2, 'js blocks')
    assert.ok(blocks.filter((b) => b.lang === 'sh').length >= 2, 'sh blocks')
    for (const b of skipped) {
      t.diagnostic(`skipped README.md:${b.line} (${b.lang}): ${b.skip}`)
      assert.match(b.skip, /\S/, `README.md:${b.line}: a skip says why`)
    }
    assert.ok(blocks.length - skipped.length >= 3, `${blocks.length - skipped.length} of ${blocks.length} examples run`)
  })

  blocks.forEach((block, n) => {
    const name = `README.md:${block.line} (${block.lang}): ${block.code.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? ''}`
    test(name.slice(0, 120), { skip: block.skip ? `readme-test: skip (${block.skip})` : false }, () => {
      const r = runBlock(block, n)
      assert.equal(r.status, 0, `README.md:${block.line} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
    })
  })
})

describe('the README agrees with the demo and the commands', () => {
  const readme = fs.readFileSync(README, 'utf8')

  test('`npm run demo` runs the commands the README says it runs, and they succeed', () => {
    const said = /`npm run demo` \(`examples\/demo\.js`\)([\s\S]*?)\n\n/.exec(readme)
    assert.ok(said, 'the README describes the demo')
    const commands = [...said[1].matchAll(/`dynpack ([a-z-]+)([^`]*)`/g)].map((m) => ({ command: m[1], options: m[2].match(/--[a-z-]+/g) ?? [] }))
    assert.ok(commands.length >= 3, said[1])
    const dir = path.join(root, 'demo')
    fs.mkdirSync(dir)
    const r = spawnSync(process.execPath, [path.join(checkout, 'examples', 'demo.js'), dir], { encoding: 'utf8', timeout: 180_000 })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const ran = r.stdout.split('\n').filter((l) => l.startsWith('$ npx dynpack ')).map((l) => l.slice('$ npx dynpack '.length))
    assert.deepEqual(ran.map((l) => l.split(' ')[0]), commands.map((c) => c.command), 'the same commands, in order')
    commands.forEach((c, i) => {
      for (const o of c.options) assert.ok(ran[i].split(' ').includes(o), `demo runs \`dynpack ${ran[i]}\`, the README says ${o}`)
    })
    const out = /into `examples\/([a-z]+)\/`/.exec(said[1])?.[1]
    assert.ok(out && fs.existsSync(path.join(dir, out)), `the demo writes into ${out}/`)
  })

  test('the command table lists every command, with options that exist', () => {
    const table = [...readme.matchAll(/^\| `([a-z-]+)( [^`]*)?` \|/gm)].map((m) => ({ command: m[1], options: (m[2] ?? '').match(/--[a-z-]+/g) ?? [] }))
    const { commands } = allCommands()
    for (const c of commands) {
      const row = table.find((r) => r.command === c.name)
      assert.ok(row, `the README's command table has no row for \`${c.name}\``)
      for (const o of row.options) assert.ok(c.usage.includes(o), `\`dynpack ${c.name}\` has no ${o} (README command table)`)
    }
  })

  test('the example files the README names are the ones make-examples.js writes', () => {
    const section = /### Examples([\s\S]*?)\n## /.exec(readme)[1]
    const ex = path.join(root, 'named')
    makeExamples(ex)
    const files = (dir) => fs.readdirSync(dir, { recursive: true }).map((f) => f.split(path.sep).join('/'))
    const all = files(ex)
    for (const [, name] of section.matchAll(/`([\w.@<>/-]+\.(?:js|json|yaml|lock))`/g)) {
      if (name.startsWith('examples/')) continue // the scripts, not what they write
      const re = new RegExp('(^|/)' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('<hash>', '[0-9a-f]{8}') + '$')
      assert.ok(all.some((f) => re.test(f)), `README names ${name}, which the examples do not have`)
    }
  })
})
