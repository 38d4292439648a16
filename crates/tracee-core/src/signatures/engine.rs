//! Routing events to the signatures that asked for them.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Finding, Signature, SignatureError, SignatureMetadata};
use crate::decode::Event;
use crate::events::{nearest, Catalog};

/// Runs a set of signatures over decoded events.
pub struct SignatureEngine {
    signatures: Vec<Box<dyn Signature>>,
    /// Event name → indexes into `signatures`.
    by_event: HashMap<&'static str, Vec<usize>>,
    /// Findings per signature, same order as `signatures`.
    fired: Vec<u64>,
}

impl SignatureEngine {
    /// An engine over `signatures`. Refuses duplicate ids and signatures without events.
    pub fn new(signatures: Vec<Box<dyn Signature>>) -> Result<SignatureEngine, SignatureError> {
        let mut ids = HashSet::new();
        let mut by_event: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, sig) in signatures.iter().enumerate() {
            let id = sig.metadata().id;
            if !ids.insert(id) {
                return Err(SignatureError::DuplicateId { id: id.to_owned() });
            }
            if sig.events().is_empty() {
                return Err(SignatureError::NoEvents { id: id.to_owned() });
            }
            for &event in sig.events() {
                let list = by_event.entry(event).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
        let fired = vec![0; signatures.len()];
        Ok(SignatureEngine {
            signatures,
            by_event,
            fired,
        })
    }

    /// Checks that every event a signature asks for exists in `catalog`.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), SignatureError> {
        for sig in &self.signatures {
            for &event in sig.events() {
                if catalog.by_name(event).is_none() {
                    return Err(SignatureError::UnknownEvent {
                        id: sig.metadata().id.to_owned(),
                        event: event.to_owned(),
                        suggestion: nearest(event, catalog.iter().map(|d| d.name()))
                            .map(str::to_owned),
                    });
                }
            }
        }
        Ok(())
    }

    /// The events the signatures need, sorted: what the tracer must emit.
    pub fn events(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self.by_event.keys().copied().collect();
        set.into_iter().collect()
    }

    /// The signatures' metadata, in the order given to [`SignatureEngine::new`].
    pub fn signatures(&self) -> impl Iterator<Item = &SignatureMetadata> {
        self.signatures.iter().map(|s| s.metadata())
    }

    /// Passes `event` to every signature that asked for its kind; their findings.
    pub fn process(&mut self, event: &Event) -> Vec<Finding> {
        let Some(indexes) = self.by_event.get(event.event_name.as_str()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &i in indexes {
            if let Some(f) = self.signatures[i].on_event(event) {
                self.fired[i] += 1;
                out.push(f);
            }
        }
        out
    }

    /// How many findings each signature has reported so far: `(id, count)`.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.signatures
            .iter()
            .zip(&self.fired)
            .map(|(s, &n)| (s.metadata().id, n))
    }
}
