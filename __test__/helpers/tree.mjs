// Builds fixture trees on disk from a compact description, and runs the real
// `npm pack` on them for differential tests.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir (prefix = 'dynpack-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/**
 * Writes `spec` under `root`. Keys are relative paths; values are
 * - a string or Buffer: file content;
 * - `{ content, mode }`: file with permission bits;
 * - `{ symlink: target }`: a symbolic link;
 * - `{ hardlink: otherRelPath }`: a hard link to a file written earlier;
 * - `{ dir: true }`: an (empty) folder;
 * - `{ json: value }`: JSON text with 2-space indentation.
 */
export function writeTree (root, spec) {
  for (const [rel, value] of Object.entries(spec)) {
    const abs = path.join(root, rel)
    fs.mkdirSync(path.dirname(abs), { recursive: true })
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      fs.writeFileSync(abs, value)
    } else if (value.json !== undefined) {
      fs.writeFileSync(abs, JSON.stringify(value.json, null, 2) + '\n')
    } else if (value.symlink !== undefined) {
      fs.symlinkSync(value.symlink, abs)
    } else if (value.hardlink !== undefined) {
      fs.linkSync(path.join(root, value.hardlink), abs)
    } else if (value.dir) {
      fs.mkdirSync(abs, { recursive: true })
    } else {
      fs.writeFileSync(abs, value.content ?? '')
      if (value.mode !== undefined) fs.chmodSync(abs, value.mode)
    }
  }
  return root
}

/** Deterministic pseudo-random text that compresses like source code. */
export function codeLike (seed, bytes) {
  const words = ['const', 'function', 'return', 'module', 'exports', 'require', 'await', 'async',
    'if', 'else', 'for', 'let', 'this', 'plugin', 'backend', 'catalog', 'router', 'config',
    'logger', 'entity', 'value', 'options', 'undefined', 'null', 'true', 'false', '=>', '{', '}',
    '(', ')', ';', '\n', '  ', '.', ',', '"use strict"', 'Object.defineProperty']
  let x = seed >>> 0 || 1
  const out = []
  let n = 0
  while (n < bytes) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    const w = words[x % words.length] + (x % 3 === 0 ? ' ' : '')
    out.push(w)
    n += w.length
  }
  return out.join('').slice(0, bytes)
}

/** Runs the real `npm pack --json --ignore-scripts` into `dest`; returns the parsed JSON entry. */
export function npmPack (dir, dest, extra = []) {
  fs.mkdirSync(dest, { recursive: true })
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
    maxBuffer: 256 * 1024 * 1024,
  })
  return JSON.parse(out)[0]
}
