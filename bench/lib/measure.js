'use strict'
// Runs one measured operation in its own child process, so that each one has
// its own peak memory: GNU time's %M (max RSS of the child, or of its largest
// descendant) when /usr/bin/time exists, otherwise what a node child reports
// itself. Node children (bench/ops/*.js) may print one line
// `BENCH_REPORT {json}` with their in-process timings.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const GNU_TIME = '/usr/bin/time'
const REPORT_PREFIX = 'BENCH_REPORT '

function hasGnuTime () {
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Escapes one argument for display in the results (not for execution). */
function quote (a) { return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'` }

/**
 * Variables removed from every contender's environment. NODE_EXTRA_CA_CERTS
 * makes each Node process parse a CA bundle at start (about 45 ms for the
 * 200 KB Debian bundle on the reference machine), a cost of the machine's
 * setup, not of the tool, and no contender talks TLS to anything but
 * loopback. BENCH_KEEP_ENV=1 keeps them; results.json records what was unset.
 */
const UNSET_FOR_CONTENDERS = process.env.BENCH_KEEP_ENV === '1' ? [] : ['NODE_EXTRA_CA_CERTS']

function contenderEnv (extra) {
  const env = { ...process.env, ...extra }
  for (const name of UNSET_FOR_CONTENDERS) delete env[name]
  return env
}

/** The variables of UNSET_FOR_CONTENDERS this run actually removed. */
function unsetVariables () {
  return UNSET_FOR_CONTENDERS.filter((name) => process.env[name] !== undefined)
}

/**
 * Spawns `cmd args` (cwd, env), waits for it and resolves to
 * `{ wall, rssMB, user, sys, report, stdout, stderr }`; rejects when the
 * command fails or exceeds `timeoutMs`.
 */
function measure ({ cmd, args = [], cwd, env, timeoutMs = 30 * 60 * 1000 }) {
  const timed = hasGnuTime()
  const timeFile = path.join(os.tmpdir(), `dynpack-bench-time-${process.pid}-${Date.now()}`)
  const argv = timed ? ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args] : args
  const exe = timed ? GNU_TIME : cmd
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(exe, argv, { cwd, env: contenderEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d; if (stdout.length > 1e6) stdout = stdout.slice(-5e5) })
    child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 1e6) stderr = stderr.slice(-5e5) })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      const wall = Number(process.hrtime.bigint() - t0) / 1e9
      let rssMB = null; let user = null; let sys = null
      if (timed) {
        try {
          const line = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()
          const [, m, u, s] = line.split(/\s+/).map(Number)
          rssMB = m / 1024; user = u; sys = s
        } catch { /* no time output: the child was killed */ }
        fs.rmSync(timeFile, { force: true })
      }
      const reportLine = stdout.split('\n').reverse().find((l) => l.startsWith(REPORT_PREFIX))
      const report = reportLine ? JSON.parse(reportLine.slice(REPORT_PREFIX.length)) : null
      if (rssMB == null && report && report.maxRssMB) rssMB = report.maxRssMB
      if (status !== 0) {
        const why = signal ? `killed by ${signal}` : `exit status ${status}`
        const err = new Error(`${[cmd, ...args].map(quote).join(' ')}: ${why}\n${stderr.trim().split('\n').slice(-8).join('\n')}`)
        err.stderr = stderr
        reject(err)
        return
      }
      resolve({ wall, rssMB, user, sys, report, stdout, stderr })
    })
  })
}

/** For ops/*.js children: prints the report line `measure` reads. */
function report (obj) {
  const maxRssMB = process.resourceUsage().maxRSS / 1024
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify({ ...obj, maxRssMB })}\n`)
}

/** Seconds since `t0` (a process.hrtime.bigint()). */
function since (t0) { return Number(process.hrtime.bigint() - t0) / 1e9 }

module.exports = { measure, report, since, hasGnuTime, quote, unsetVariables }
