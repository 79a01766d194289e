//! The checks `inspect` runs, one [`Rule`] each, with the stable names
//! users see in reports, JSON and exit messages. Each rule states what
//! RHDH's plugin installer (Python ≤ 1.10, TypeScript ≥ 1.11) needs.

/// How bad a finding is: an error means RHDH will not install the plugin
/// (at some supported version); a warning means it might not, or not as
/// expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One check of an image, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// The tag or digest is one RHDH's `oci://` grammar accepts.
    Reference,
    /// An image index has a linux/amd64 image (RHDH ≥ 1.9 pulls that one).
    Platform,
    /// The top-level manifest (or index) has `io.backstage.dynamic-packages`.
    Annotation,
    /// That annotation is base64 of a JSON array of `{ "<dir>": {…} }`.
    AnnotationFormat,
    /// The root `index.json` agrees with the annotation.
    RootIndex,
    /// The first layer is a tar RHDH's installers read (gzip for ≤ 1.8).
    LayerFormat,
    /// Every plugin of the annotation is in the first layer.
    PluginsInFirstLayer,
    /// Entry names start with the plugin directory: no `./`, `/` or `..`.
    EntryNames,
    /// No entry over 40 MB (error) or 20 MB (warning).
    EntrySize,
    /// No link leaving its plugin folder.
    Links,
    /// No device, FIFO or unknown entry.
    SpecialFiles,
    /// No plugin directory that is a raw name prefix of another.
    PrefixDirectories,
    /// With a public key: a cosign signature by it for the image's digest.
    Signature,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 13] = [
        Rule::Reference,
        Rule::Platform,
        Rule::Annotation,
        Rule::AnnotationFormat,
        Rule::RootIndex,
        Rule::LayerFormat,
        Rule::PluginsInFirstLayer,
        Rule::EntryNames,
        Rule::EntrySize,
        Rule::Links,
        Rule::SpecialFiles,
        Rule::PrefixDirectories,
        Rule::Signature,
    ];

    /// The stable name (reports, JSON, exit messages).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Reference => "reference",
            Rule::Platform => "platform",
            Rule::Annotation => "annotation",
            Rule::AnnotationFormat => "annotation-format",
            Rule::RootIndex => "root-index",
            Rule::LayerFormat => "layer-format",
            Rule::PluginsInFirstLayer => "plugins-in-first-layer",
            Rule::EntryNames => "entry-names",
            Rule::EntrySize => "entry-size",
            Rule::Links => "links",
            Rule::SpecialFiles => "special-files",
            Rule::PrefixDirectories => "prefix-directories",
            Rule::Signature => "signature",
        }
    }

    /// What the rule checks, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Rule::Reference => "the tag or digest fits RHDH's oci:// reference grammar",
            Rule::Platform => "a single image, or an index with a linux/amd64 one",
            Rule::Annotation => "io.backstage.dynamic-packages is on the top-level manifest",
            Rule::AnnotationFormat => "the annotation is base64 of [{\"<dir>\": {…}}]",
            Rule::RootIndex => "the root index.json lists the annotation's plugins",
            Rule::LayerFormat => "the first layer is a tar RHDH can read",
            Rule::PluginsInFirstLayer => "every plugin is in the first layer",
            Rule::EntryNames => "entry names start with the plugin directory",
            Rule::EntrySize => "no entry over 40 MB (error) or 20 MB (warning)",
            Rule::Links => "no link leaves its plugin folder",
            Rule::SpecialFiles => "no devices, FIFOs or unknown entry types",
            Rule::PrefixDirectories => "no plugin directory is a name prefix of another",
            Rule::Signature => "with --key: a cosign signature by that key for this digest",
        }
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
}

/// Findings kept per rule; the rest are counted.
pub const FINDINGS_PER_RULE: usize = 20;

/// The outcome of one rule.
#[derive(Debug, Clone)]
pub struct Check {
    pub rule: Rule,
    /// `pass`, `warning`, `error`, or `skipped` (nothing to check it on).
    pub status: &'static str,
    pub findings: Vec<Finding>,
    /// Findings beyond [`FINDINGS_PER_RULE`], not listed.
    pub omitted: usize,
}

/// Collects findings, then turns them into one [`Check`] per rule.
#[derive(Default)]
pub struct Findings {
    list: Vec<Finding>,
    counts: std::collections::BTreeMap<Rule, usize>,
    /// Worst severity per rule, counting findings past the cap.
    worst: std::collections::BTreeMap<Rule, Severity>,
    skipped: std::collections::BTreeSet<Rule>,
}

impl Findings {
    pub fn add(&mut self, rule: Rule, severity: Severity, message: impl Into<String>) {
        let n = self.counts.entry(rule).or_default();
        *n += 1;
        if *n <= FINDINGS_PER_RULE {
            self.list.push(Finding {
                rule,
                severity,
                message: message.into(),
            });
        }
        let worst = self.worst.entry(rule).or_insert(severity);
        *worst = (*worst).max(severity);
    }

    pub fn error(&mut self, rule: Rule, message: impl Into<String>) {
        self.add(rule, Severity::Error, message)
    }

    pub fn warn(&mut self, rule: Rule, message: impl Into<String>) {
        self.add(rule, Severity::Warning, message)
    }

    /// Marks a rule that could not run (e.g. no readable layer).
    pub fn skip(&mut self, rule: Rule) {
        self.skipped.insert(rule);
    }

    pub fn checks(self) -> Vec<Check> {
        Rule::ALL
            .iter()
            .map(|&rule| {
                let findings: Vec<Finding> = self
                    .list
                    .iter()
                    .filter(|f| f.rule == rule)
                    .cloned()
                    .collect();
                let status = match self.worst.get(&rule) {
                    Some(Severity::Error) => "error",
                    Some(Severity::Warning) => "warning",
                    None if self.skipped.contains(&rule) => "skipped",
                    None => "pass",
                };
                let total = self.counts.get(&rule).copied().unwrap_or(0);
                Check {
                    rule,
                    status,
                    omitted: total - findings.len(),
                    findings,
                }
            })
            .collect()
    }
}
