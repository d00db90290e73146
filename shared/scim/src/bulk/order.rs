//! `bulkId` cross-references (RFC 7644 §3.7.2): which operations an operation depends on, the order that runs
//! every operation after the ones creating the resources it names (forward references included), and the
//! substitution of `bulkId:<id>` by the id that was created.
//!
//! A reference is the path `/Users/bulkId:<id>` or a string `"bulkId:<id>"` under a `value` key anywhere in the
//! operation's data (group `members`, the enterprise `manager`). Operations whose references form a cycle fail with
//! 409: a create cannot name an id that exists only after it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use serde_json::Value;

use super::{BULK_ID_PREFIX, BulkMethod, Operation, RequestedOperation, ResourceRef};
use crate::error::ScimError;

/// One operation in running order: its index in the request, and the operation or why it fails without running.
pub type Step<'a> = (usize, Result<&'a Operation, ScimError>);

/// The `bulkId`s `op` refers to.
pub fn references(op: &Operation) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Some(ResourceRef::BulkId(bulk_id)) = &op.target {
        found.insert(bulk_id.clone());
    }
    collect_value_references(&op.data, &mut found);
    found
}

fn collect_value_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match inner.as_str().and_then(|s| s.strip_prefix(BULK_ID_PREFIX)) {
                    Some(bulk_id) if key == "value" => {
                        found.insert(bulk_id.to_owned());
                    }
                    _ => collect_value_references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_value_references(item, found)),
        _ => {}
    }
}

/// Which operation creates each `bulkId` (the first POST naming it), and the later POSTs that reuse one.
fn creators(operations: &[RequestedOperation]) -> (HashMap<&str, usize>, HashMap<usize, ScimError>) {
    let mut creators = HashMap::new();
    let mut duplicates = HashMap::new();
    for (index, entry) in operations.iter().enumerate() {
        let Ok(op) = &entry.parsed else { continue };
        let Some(bulk_id) = entry.bulk_id.as_deref().filter(|_| op.method == BulkMethod::Post) else {
            continue;
        };
        if let Some(first) = creators.get(bulk_id) {
            let detail = format!("bulkId \"{bulk_id}\" is already used by operation {first}");
            duplicates.insert(index, ScimError::invalid_value(detail));
        } else {
            creators.insert(bulk_id, index);
        }
    }
    (creators, duplicates)
}

/// An operation and the indexes of the operations creating what it names, or why it cannot run.
type Waiting<'a> = Result<(&'a Operation, Vec<usize>), ScimError>;

/// What each operation waits for.
fn dependencies(operations: &[RequestedOperation]) -> Vec<Waiting<'_>> {
    let (creators, mut duplicates) = creators(operations);
    let needs = |op: &Operation| {
        let mut waits = Vec::new();
        for bulk_id in references(op) {
            match creators.get(bulk_id.as_str()) {
                Some(&creator) => waits.push(creator),
                None => {
                    return Err(ScimError::invalid_value(format!(
                        "no POST operation of this request has bulkId \"{bulk_id}\""
                    )));
                }
            }
        }
        Ok(waits)
    };
    operations
        .iter()
        .enumerate()
        .map(|(index, entry)| match (&entry.parsed, duplicates.remove(&index)) {
            (Err(err), _) => Err(err.clone()),
            (Ok(_), Some(err)) => Err(err),
            (Ok(op), None) => needs(op).map(|waits| (op, waits)),
        })
        .collect()
}

/// The running order: request order, except that an operation runs after every operation creating a resource it
/// names. Operations that fail without running keep their place; operations caught in a reference cycle come last,
/// each failing with 409.
pub fn schedule(operations: &[RequestedOperation]) -> Vec<Step<'_>> {
    let mut pending: Vec<Option<Waiting<'_>>> = dependencies(operations).into_iter().map(Some).collect();
    let mut placed = vec![false; operations.len()];
    let mut steps = Vec::with_capacity(operations.len());
    loop {
        let ready = (0..pending.len()).find(|&i| match &pending[i] {
            None => false,
            Some(Err(_)) => true,
            Some(Ok((_, waits))) => waits.iter().all(|&w| placed[w]),
        });
        let Some(index) = ready else { break };
        placed[index] = true;
        let step = match pending[index].take() {
            Some(Ok((op, _))) => Ok(op),
            Some(Err(err)) => Err(err),
            None => continue,
        };
        steps.push((index, step));
    }
    for (index, left) in pending.into_iter().enumerate() {
        if left.is_some() {
            let detail = "the bulkId references of this operation form a cycle; none of them can be created first";
            steps.push((index, Err(ScimError::new(409, None, detail))));
        }
    }
    steps
}

/// Splits the running order into waves the service may run concurrently: a run of consecutive POSTs (at most
/// `width`) none of which names a resource created in the same run, or any other operation alone. Only creates
/// overlap (they name no existing resource), so a change or delete never races an operation before or after it.
/// Steps that fail without running join any run of POSTs.
pub fn waves(operations: &[RequestedOperation], steps: &[Step<'_>], width: usize) -> Vec<Range<usize>> {
    let mut waves = Vec::new();
    let mut start = 0;
    let mut open = false;
    let mut created_here: HashSet<&str> = HashSet::new();
    for (position, (index, step)) in steps.iter().enumerate() {
        let post_references = match step {
            Err(_) => Some(BTreeSet::new()),
            Ok(op) if op.method == BulkMethod::Post => Some(references(op)),
            Ok(_) => None,
        };
        let joins = open
            && position - start < width
            && post_references
                .as_ref()
                .is_some_and(|refs| refs.iter().all(|r| !created_here.contains(r.as_str())));
        if position > start && !joins {
            waves.push(start..position);
            start = position;
            created_here.clear();
        }
        open = post_references.is_some();
        if let Some(bulk_id) = operations[*index].bulk_id.as_deref() {
            created_here.insert(bulk_id);
        }
    }
    if start < steps.len() {
        waves.push(start..steps.len());
    }
    waves
}

/// `op` with every `bulkId` reference replaced by the id its creating operation answered. A reference to an
/// operation that failed is a 409: the resource it names does not exist.
pub fn resolve(op: &Operation, created: &HashMap<String, String>) -> Result<Operation, ScimError> {
    let lookup = |bulk_id: &str| {
        created.get(bulk_id).cloned().ok_or_else(|| {
            ScimError::new(
                409,
                None,
                format!("the operation with bulkId \"{bulk_id}\" failed, so the resource it names does not exist"),
            )
        })
    };
    let mut resolved = op.clone();
    if let Some(ResourceRef::BulkId(bulk_id)) = &op.target {
        resolved.target = Some(ResourceRef::Id(lookup(bulk_id)?));
    }
    substitute(&mut resolved.data, &lookup)?;
    Ok(resolved)
}

fn substitute(value: &mut Value, lookup: &impl Fn(&str) -> Result<String, ScimError>) -> Result<(), ScimError> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                let reference = inner.as_str().and_then(|s| s.strip_prefix(BULK_ID_PREFIX));
                match reference {
                    Some(bulk_id) if key == "value" => *inner = Value::String(lookup(bulk_id)?),
                    _ => substitute(inner, lookup)?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                substitute(item, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}
