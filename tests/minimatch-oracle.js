// The real matcher for tests/minimatch_parity.rs: reads one JSON line
// `[pattern, [path, ...]]` at a time from stdin and answers one line: `E` when
// minimatch throws on the pattern, `T` when it does not finish in time (see
// below), else one `0`/`1` per path for `mm.match(path)` followed by one per
// path for `mm.match(path, true)`, with the options npm's ignore walker
// (ignore-walk 8) passes.
//
// Usage: node minimatch-oracle.js <minimatch folder> <time bound in ms>
//
// Time bound: minimatch's RegExps can backtrack catastrophically in V8 on
// some patterns, and a run of millions of random patterns must not hang on
// one. Each pattern (construction and all its paths) runs under `vm`'s
// `timeout`, which interrupts even a RegExp in the middle of its search.
// A pattern that exceeds the bound is tried once more, so that a pause of the
// whole process (SIGSTOP, a loaded machine) is not taken for a timeout, and
// answered `T` when it exceeds it again. minimatch keeps no state between
// patterns, so an interrupted one leaves nothing behind.
'use strict'
const vm = require('vm')
const { Minimatch } = require(process.argv[2])
const timeout = Number(process.argv[3])
const options = { matchBase: true, dot: true, flipNegate: true, nocase: true }

function answer([pattern, paths]) {
  let mm
  try {
    mm = new Minimatch(pattern, options)
  } catch {
    return 'E'
  }
  let s = ''
  for (const p of paths) s += mm.match(p) ? '1' : '0'
  for (const p of paths) s += mm.match(p, true) ? '1' : '0'
  return s
}

const context = vm.createContext({ answer, job: null })
const run = new vm.Script('answer(job)')

function boundedAnswer(job) {
  context.job = job
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return run.runInContext(context, { timeout })
    } catch (e) {
      if (e.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e
    }
  }
  return 'T'
}

const lines = require('readline').createInterface({ input: process.stdin })
let out = ''
lines.on('line', (line) => {
  out += boundedAnswer(JSON.parse(line)) + '\n'
  if (out.length > 1 << 16) {
    process.stdout.write(out)
    out = ''
  }
})
lines.on('close', () => process.stdout.write(out))
