'use strict'
// `dynpack inspect`: what an OCI plugin image holds and whether RHDH's
// installer will install it (inspectOciImage), as a table or stable JSON.

const { parse } = require('./args.js')
const { Reporter, formatBytes, json, escapeControls: esc } = require('./report.js')
const { REGISTRY_OPTIONS, REGISTRY_HELP, registryOptions } = require('./push.js')

const OPTIONS = {
  json: { type: 'boolean' },
  ref: { type: 'string' },
  'allow-prefix-dirs': { type: 'boolean' },
  key: { type: 'string' },
  'any-repository': { type: 'boolean' },
  ...REGISTRY_OPTIONS,
}

const usage = `Usage: dynpack inspect REF [--ref NAME] [--key cosign.pub [--any-repository]] [--json] [--allow-prefix-dirs] [registry options]

Lists the plugins of an OCI image (directory, package, version, files, bytes,
largest file) and checks it against what RHDH's plugin installer needs
(Python installer up to RHDH 1.10, TypeScript from 1.11). REF is
  DIR                         an OCI image layout folder (e.g. dist-oci)
  FILE                        an oci-archive file
  oci:DIR[:REF]               an image of a layout, as skopeo names it
  oci-archive:FILE[:REF]      an image of an oci-archive
  oci://HOST/REPO:TAG[!DIR]   a registry image, as dynamic-plugins.yaml names it
  HOST/REPO:TAG, HOST/REPO@sha256:…

Checks (stable rule names): reference, platform, annotation, annotation-format,
root-index, layer-format, plugins-in-first-layer, entry-names, entry-size, links,
special-files, prefix-directories, signature (with --key). A registry image's
SBOM referrers (listed in its sha256-<hex> tag) are shown.

Options:
      --ref NAME            the image of a layout or archive that holds several
                            (its tag or digest; default: the only one)
      --json                print the report as JSON
      --allow-prefix-dirs   a plugin directory that is a name prefix of another
                            is a warning (RHDH 1.11 and later), not an error
      --key FILE            require a cosign signature by this public key
                            (cosign.pub) for the image's digest and repository:
                            the signature rule fails without one
      --any-repository      with --key, accept a signature whose payload names
                            another repository (docker-reference), e.g. one
                            copied with the image from where it was signed;
                            by default it must name REF's repository (and its
                            tag when both name one)
Registry options (for a registry REF; credentials and TLS as dynpack push finds them):
${REGISTRY_HELP}
  -q, --quiet               print nothing but failures
      --verbose             print every finding, not only the first ones
  -h, --help                show this help

Exit status: 0 when every check passes or warns, 1 when one fails (the rules
are named on stderr) or the image cannot be read, 2 on a usage error.`

/** The report with a fixed key order, every key present. */
function stableReport (r) {
  return {
    ok: r.ok,
    source: r.source,
    location: r.location,
    reference: r.reference,
    imageName: r.imageName ?? null,
    mediaType: r.mediaType,
    digest: r.digest,
    manifestDigest: r.manifestDigest,
    platform: r.platform ?? null,
    layerCount: r.layerCount,
    layer: r.layer
      ? {
          mediaType: r.layer.mediaType,
          digest: r.layer.digest,
          size: r.layer.size,
          compression: r.layer.compression,
          entries: r.layer.entries,
          diffId: r.layer.diffId ?? null,
        }
      : null,
    plugins: r.plugins.map((p) => ({
      directory: p.directory,
      name: p.name ?? null,
      version: p.version ?? null,
      files: p.files,
      bytes: p.bytes,
      largestFile: p.largestFile ? { path: p.largestFile.path, size: p.largestFile.size } : null,
    })),
    checks: r.checks.map((c) => ({
      rule: c.rule,
      status: c.status,
      description: c.description,
      findings: c.findings.map((f) => ({ severity: f.severity, message: f.message })),
      omitted: c.omitted,
    })),
    signature: r.signature ? { tag: r.signature.tag, found: r.signature.found, verified: r.signature.verified } : null,
    referrers: (r.referrers ?? []).map((x) => ({
      digest: x.digest,
      mediaType: x.mediaType,
      artifactType: x.artifactType ?? null,
      size: x.size,
      annotations: x.annotations,
    })),
  }
}

/** Columns padded to their widest cell. */
function table (rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ').trimEnd())
}

function textReport (r, verbose) {
  const lines = []
  const name = r.imageName ? `${esc(r.imageName)} ` : ''
  lines.push(`${name}(${r.source} ${esc(r.location)}, ${esc(r.reference)})`)
  const layer = r.layer
    ? `${r.layerCount} layer${r.layerCount === 1 ? '' : 's'}, first: ${r.layer.compression === 'none' ? 'uncompressed' : r.layer.compression}, ${formatBytes(r.layer.size)}, ${r.layer.entries} entries`
    : 'no layers'
  lines.push(`  manifest ${esc(r.manifestDigest)}  ${esc(r.platform ?? 'no platform')}  ${layer}`, '')
  if (r.plugins.length === 0) {
    lines.push('No plugins found.')
  } else {
    lines.push(...table([
      ['DIRECTORY', 'PACKAGE', 'VERSION', 'FILES', 'SIZE', 'LARGEST FILE'],
      ...r.plugins.map((p) => [esc(p.directory), esc(p.name ?? '-'), esc(p.version ?? '-'), p.files, formatBytes(p.bytes),
        p.largestFile ? `${esc(p.largestFile.path.slice(p.directory.length + 1))} (${formatBytes(p.largestFile.size)})` : '-']),
    ]).map((l) => '  ' + l))
  }
  if (r.signature) {
    lines.push('', `Signatures: ${r.signature.verified} of ${r.signature.found} at ${esc(r.signature.tag)} verified with the key`)
  }
  if ((r.referrers ?? []).length > 0) {
    lines.push('', 'Referrers:')
    for (const x of r.referrers) lines.push(`  ${esc(x.artifactType ?? x.mediaType)}  ${esc(x.digest)}  ${formatBytes(x.size)}`)
  }
  lines.push('', 'Checks:')
  const width = Math.max(...r.checks.map((c) => c.rule.length))
  for (const c of r.checks) {
    lines.push(`  ${c.status.padEnd(7)}  ${c.rule.padEnd(width)}  ${c.description}`)
    const shown = verbose ? c.findings : c.findings.slice(0, 5)
    for (const f of shown) lines.push(`           ${f.severity === 'error' ? '✗' : '!'} ${esc(f.message)}`)
    const more = c.omitted + c.findings.length - shown.length
    if (more > 0) lines.push(`           … ${more} more${verbose ? '' : ' (--verbose or --json lists up to 20)'}`)
  }
  return lines.join('\n')
}

async function run (argv, io) {
  const { values, positionals } = parse('inspect', argv, OPTIONS, { min: 1, max: 1 })
  const report = new Reporter(io, values)
  const api = require('../api.js')
  const result = await api.inspectOciImage(positionals[0], {
    ...registryOptions(values, io.cwd ?? process.cwd(), 'inspect'),
    refName: values.ref,
    cwd: io.cwd ?? process.cwd(),
    allowPrefixDirectories: !!values['allow-prefix-dirs'],
    ...(values.key === undefined ? {} : { key: values.key }),
    ...(values['any-repository'] ? { anyRepository: true } : {}),
    signal: io.signal,
  })
  if (values.json) io.stdout.write(json(stableReport(result)))
  else if (!values.quiet) report.out(textReport(result, values.verbose))
  const failed = result.checks.filter((c) => c.status === 'error').map((c) => c.rule)
  if (failed.length === 0) return 0
  const first = result.checks.find((c) => c.status === 'error').findings[0]
  io.stderr.write(`dynpack: E_IMAGE_CHECK: ${esc(positionals[0])} fails ${failed.length === 1 ? 'the rule' : 'the rules'} ${failed.join(', ')}` +
    (first ? ` (${esc(first.message.replace(/\s*\n\s*/g, ' '))})` : '') + '\n')
  return 1
}

module.exports = { name: 'inspect', summary: 'list the plugins of an OCI image and check it against RHDH\'s installer', usage, run, stableReport }
