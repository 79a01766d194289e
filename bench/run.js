#!/usr/bin/env node
'use strict'
// `npm run bench`: dynpack against what users run today, on the same bytes,
// in one run. Each operation runs in its own child process (peak memory per
// operation); contenders alternate within each repetition; medians and
// ratios go to a markdown table and bench/results.json. Numbers never make
// it fail: only a contender that errors does.
//
//   npm run bench                 full run (~10-20 min on 2 cores)
//   npm run bench -- --quick      small fixtures, 1 repetition (BENCH_QUICK=1)
//   options: --reps N  --only backend,frontend,monorepo,oci,integrity,scaling,push,incremental,mirror
//            (mirror-1g, peak memory with a 1 GiB layer, runs only when named)
//            --no-podman  --no-install (do not install @janus-idp/cli)

const { spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseArgs } = require('node:util')

const { ensureFixture } = require('./lib/fixtures')
const { defineGroups } = require('./lib/groups')
const { measure, hasGnuTime, unsetVariables } = require('./lib/measure')
const report = require('./lib/report')
const tools = require('./lib/tools')

const BENCH = __dirname
const CACHE = path.join(BENCH, '.cache')
const GROUPS = ['backend', 'frontend', 'monorepo', 'oci', 'integrity', 'scaling', 'push', 'incremental', 'mirror', 'mirror-1g']
const ON_REQUEST = ['mirror-1g']

function log (msg) { process.stderr.write(msg + '\n') }

function options () {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
      reps: { type: 'string' },
      only: { type: 'string' },
      'no-podman': { type: 'boolean', default: false },
      'no-install': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n')
    process.exit(0)
  }
  const quick = values.quick
  const reps = values.reps ? Math.max(1, parseInt(values.reps, 10)) : (quick ? 1 : 5)
  const only = values.only ? values.only.split(',') : GROUPS.filter((g) => !ON_REQUEST.includes(g))
  for (const g of only) if (!GROUPS.includes(g)) throw new Error(`--only: unknown group ${g} (one of ${GROUPS.join(', ')})`)
  return {
    quick,
    scale: quick ? 1 / 16 : 1,
    reps,
    scaleReps: values.reps ? reps : (quick ? 1 : 2),
    only,
    podman: !values['no-podman'],
    install: !values['no-install'] && !quick,
  }
}

function dirBytes (dir) {
  let n = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath || e.path, e.name)).size
  }
  return n
}

/** sha512 over the files an operation wrote (sorted by name), to compare outputs. */
function outputDigest (dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort()
  if (files.length === 0) return null
  const h = crypto.createHash('sha512')
  for (const f of files) h.update(f).update(fs.readFileSync(path.join(dir, f)))
  return h.digest('base64').slice(0, 24)
}

/** Reads every file under `p` once, so that no contender pays for a cold page cache. */
function warm (p) {
  const st = fs.statSync(p)
  if (st.isFile()) {
    const fd = fs.openSync(p, 'r'); const buf = Buffer.allocUnsafe(8 << 20)
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
    fs.closeSync(fd)
    return
  }
  for (const e of fs.readdirSync(p, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) fs.readFileSync(path.join(e.parentPath || e.path, e.name))
  }
}

function freeGB (dir) {
  try { const s = fs.statfsSync(dir); return (s.bavail * s.bsize) / 1e9 } catch { return Infinity }
}

async function main () {
  const opt = options()
  fs.mkdirSync(CACHE, { recursive: true })
  const loadBefore = os.loadavg()
  const started = new Date()
  log(`dynpack bench: ${opt.quick ? 'quick' : 'full'} run, ${opt.reps} repetition(s), groups ${opt.only.join(', ')}`)
  if (!hasGnuTime()) log('note: /usr/bin/time is missing (Debian package `time`): peak memory is only known for node children')
  const need = opt.quick ? 0.5 : 3
  if (freeGB(CACHE) < need) log(`warning: less than ${need} GB free under ${CACHE}; fixtures may not fit`)

  const dyn = tools.snapshotDynpack(CACHE, log)
  const npmPack = tools.findLibnpmpack()
  const env = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', BENCH_DYNPACK_API: dyn.api || '' }
  let podman = { skip: 'disabled with --no-podman' }
  let janus = { skip: 'disabled with --no-podman' }
  if (opt.podman && (opt.only.includes('oci') || opt.only.includes('push'))) {
    podman = tools.probePodman()
    janus = podman.skip ? { skip: 'podman does not work here' } : tools.ensureJanusCli(CACHE, { install: opt.install, log })
  }

  const fixtureRoot = path.join(CACHE, 'fixtures')
  const fixtures = {}
  const fx = (name) => {
    if (!fixtures[name]) fixtures[name] = ensureFixture(fixtureRoot, name, { scale: opt.scale, log })
    return fixtures[name]
  }
  const groups = defineGroups({ opt, fx, cache: CACHE, env, dyn, npmPack, podman, janus })

  for (const g of groups) await runGroup(g, { fx, env })

  const results = {
    benchVersion: 1,
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    quick: opt.quick,
    reps: opt.reps,
    machine: { ...tools.machine(), unsetForContenders: unsetVariables(), loadBefore: loadBefore.map((x) => +x.toFixed(2)), loadAfter: os.loadavg().map((x) => +x.toFixed(2)) },
    tools: {
      libnpmpack: npmPack.version || null,
      podman: podman.version || null,
      janusCli: janus.version || null,
      dynpackAddonSha256: dyn.addonSha || null,
      peakMemory: hasGnuTime() ? '/usr/bin/time %M' : 'process.resourceUsage().maxRSS (node children only)',
    },
    fixtures: Object.fromEntries(Object.entries(fixtures).map(([k, v]) => [k, { files: v.files, bytes: v.bytes }])),
    groups: groups.map((g) => ({ id: g.id, title: g.title, rows: g.rows })),
  }
  results.targets = report.targets(results)
  report.writeJson(path.join(BENCH, 'results.json'), results)

  const m = results.machine
  const md = [
    `### dynpack bench, ${opt.quick ? 'quick' : 'full'} run, ${results.date.slice(0, 10)}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB; ${m.os}; node ${m.node} (zlib ${m.zlib}), npm ${m.npm}; ` +
      `load average ${m.loadBefore[0]} before, ${m.loadAfter[0]} after; medians of ${opt.reps} run(s)${opt.quick ? '' : ` (scaling: ${opt.scaleReps})`}` +
      (m.unsetForContenders.length ? `; unset for every contender: ${m.unsetForContenders.join(', ')} (BENCH_KEEP_ENV=1 keeps it)` : '') + '.',
    '',
    'Fixtures: ' + Object.entries(results.fixtures).map(([k, v]) => `${k} ${v.files} files / ${(v.bytes / 1e6).toFixed(0)} MB`).join(', ') + '.',
    '',
    report.table(results),
    '',
    report.targetTable(results.targets),
    '',
  ].join('\n')
  process.stdout.write(md + '\n')
  log(`results written to ${path.relative(process.cwd(), path.join(BENCH, 'results.json'))} (${results.durationSeconds} s)`)
  const failed = groups.flatMap((g) => g.rows.filter((r) => r.error))
  if (failed.length) {
    log(`${failed.length} contender(s) failed: ${failed.map((r) => r.id).join(', ')}`)
    process.exitCode = 1
  }
}

/**
 * Runs a group: its contenders in turn, `g.reps` times (A B C A B C …),
 * each in a fresh output folder; fills `g.rows` with runs and medians.
 */
async function runGroup (g, { fx, env }) {
  const outRoot = path.join(CACHE, 'out')
  g.rows = g.contenders.map((c) => ({ id: c.id, label: c.label, baseline: !!c.baseline, vs: c.vs, fixture: c.fixture, runs: [], skipped: c.skip || undefined }))
  const live = g.contenders.filter((c) => !c.skip)
  try {
    for (const name of new Set(live.map((c) => c.fixture))) warm(fx(name).dir)
  } catch (err) {
    for (const r of g.rows) if (!r.skipped) r.error = `fixture: ${err.message}`
    return
  }
  try {
    if (g.setup && live.length) await g.setup()
    await runReps(g, live, { fx, env, outRoot })
  } catch (err) {
    for (const r of g.rows) if (!r.skipped && !r.error) r.error = `setup: ${err.message}`
  } finally {
    if (g.teardown) g.teardown()
  }
  for (const r of g.rows) report.summarize(r)
  checkOutputs(g)
}

/** The repetitions of a group's live contenders, in turn. */
async function runReps (g, live, { fx, env, outRoot }) {
  for (let rep = 1; rep <= g.reps; rep++) {
    for (const c of live) {
      const row = g.rows.find((r) => r.id === c.id)
      if (row.error) continue
      const out = path.join(outRoot, `${g.id}-${c.id}`)
      fs.rmSync(out, { recursive: true, force: true })
      fs.mkdirSync(out, { recursive: true })
      try {
        if (c.before) c.before()
        const spec = c.spec(out)
        // Untimed: the data the previous contender left to write back goes to disk now, not
        // into this contender's fsyncs (a podman build leaves ~150 MB of it).
        spawnSync('sync')
        const m = await measure({ ...spec, cwd: spec.cwd || BENCH, env })
        const rp = m.report || {}
        const run = { wall: m.wall, op: rp.seconds ?? null, cpu: m.user != null ? m.user + m.sys : null, rssMB: m.rssMB, lateMs: rp.lateMs ?? null, load: +os.loadavg()[0].toFixed(2) }
        run.outputBytes = rp.size ?? (dirBytes(out) || null)
        run.digest = outputDigest(out) || rp.sri || (c.digest ? c.digest(m.stdout) : null)
        if (c.input) row.inputBytes = fx(c.fixture).bytes
        if (rp.packageSeconds != null) run.steps = { package: rp.packageSeconds, push: rp.pushSeconds }
        row.runs.push(run)
        if (c.note) row.note = c.note()
        log(`[${g.id} ${rep}/${g.reps}] ${c.id}: ${m.wall.toFixed(2)} s${run.op != null ? ` (in-process ${run.op.toFixed(2)} s)` : ''}, ${m.rssMB != null ? m.rssMB.toFixed(0) + ' MB' : 'RSS n/a'}`)
      } catch (err) {
        row.error = err.message
        log(`[${g.id} ${rep}/${g.reps}] ${c.id}: FAILED ${err.message}`)
      } finally {
        if (c.after) c.after()
        fs.rmSync(out, { recursive: true, force: true })
      }
    }
  }
}

/** Notes, per group, whether the contenders wrote the same bytes as their baseline. */
function checkOutputs (g) {
  const groupBase = g.rows.find((r) => r.baseline)
  const digestOf = (r) => (r && r.runs.length ? r.runs[r.runs.length - 1].digest : null)
  const addNote = (r, n) => { r.note = [r.note, n].filter(Boolean).join('; ') }
  for (const r of g.rows) {
    if (new Set(r.runs.map((x) => x.digest).filter(Boolean)).size > 1) addNote(r, 'OUTPUT DIFFERS BETWEEN RUNS')
    const base = r.vs ? g.rows.find((x) => x.id === r.vs) : groupBase
    const d = digestOf(r)
    if (!base || r === base || !d || !digestOf(base)) continue
    if (g.id === 'integrity' || /-npm$|^libnpmpack$|^dynpack-cli$|^pack-many$/.test(r.id)) {
      r.identical = d === digestOf(base)
      addNote(r, r.identical ? (g.id === 'integrity' ? 'same digest' : 'identical to npm') : 'DIFFERENT from baseline')
    }
  }
}

main().catch((err) => {
  log(err.stack || String(err))
  process.exit(2)
})
