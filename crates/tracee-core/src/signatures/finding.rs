//! What a signature reports: its metadata and the event that triggered it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::decode::Event;

/// How bad a finding is, Tracee's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth recording, not alarming by itself.
    Info,
    /// Unusual; benign software does it too.
    Low,
    /// A technique attackers use; look at it.
    Medium,
    /// Rarely benign.
    High,
    /// Act now.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// Who a signature is. `'static` strings so signatures keep it in a plain `static`, made with
/// [`SignatureMetadata::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignatureMetadata {
    /// Stable id, e.g. `TRC-2`.
    pub id: &'static str,
    /// Version of the rule.
    pub version: &'static str,
    /// Short name, e.g. `Anti-Debugging`.
    pub name: &'static str,
    /// One sentence on what it detects.
    pub description: &'static str,
    /// How bad a finding is.
    pub severity: Severity,
    /// MITRE ATT&CK tactic, e.g. `defense-evasion`.
    pub mitre_category: &'static str,
}

impl SignatureMetadata {
    /// Metadata of a signature: stable id (`TRC-2`), version, short name, one-sentence
    /// description, severity and MITRE ATT&CK tactic.
    pub const fn new(
        id: &'static str,
        version: &'static str,
        name: &'static str,
        description: &'static str,
        severity: Severity,
        mitre_category: &'static str,
    ) -> SignatureMetadata {
        SignatureMetadata {
            id,
            version,
            name,
            description,
            severity,
            mitre_category,
        }
    }
}

/// One detection: which signature fired, on which event, with what evidence.
///
/// JSON (serde): `{"signature": {...}, "data": {...}, "event": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The signature that fired.
    pub signature: SignatureMetadata,
    /// Evidence, by name (e.g. `"pathname"`).
    pub data: BTreeMap<String, String>,
    /// The event that triggered it.
    pub event: Event,
}

impl Finding {
    /// A finding of `signature` on `event`, without evidence yet.
    pub fn new(signature: &SignatureMetadata, event: &Event) -> Finding {
        Finding {
            signature: signature.clone(),
            data: BTreeMap::new(),
            event: event.clone(),
        }
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> Finding {
        self.data.insert(key.to_owned(), value.to_string());
        self
    }
}

/// Tracee's detection block.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, h) = (&self.signature, &self.event.header);
        writeln!(f, "*** Detection ***")?;
        writeln!(f, "Signature ID: {}", s.id)?;
        writeln!(f, "Signature: {} ({} severity)", s.name, s.severity)?;
        write!(f, "Data:")?;
        for (k, v) in &self.data {
            write!(f, " {k}={v:?}")?;
        }
        writeln!(f)?;
        writeln!(f, "Event: {}", self.event.event_name)?;
        writeln!(
            f,
            "Process: {} pid={} tid={} ppid={} uid={}",
            h.comm, h.pid, h.tid, h.ppid, h.uid
        )?;
        write!(f, "Hostname: {}", h.uts_name)
    }
}
