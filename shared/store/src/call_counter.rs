//! Counts DynamoDB requests by operation name. Local latency and production cost are both dominated by the number
//! of DynamoDB calls, so benchmarks and call-budget tests count them through this SDK interceptor rather than
//! guessing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Shared counters; clones count into the same map.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    /// (operation, table name) pairs seen, for the least-privilege consistency check.
    touched: Arc<Mutex<BTreeSet<(String, String)>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls per operation since the last reset.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every (operation, table) pair called since creation (not cleared by [`CallCounter::reset`]).
    pub fn touched(&self) -> BTreeSet<(String, String)> {
        self.touched.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Total calls since the last reset.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Runs nothing itself; returns the snapshot and resets, for "calls of one operation" measurements.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Table names a DynamoDB JSON request addresses: `TableName`, the keys of `RequestItems` (batch calls), and the
/// `TableName` inside each `TransactItems` element.
fn tables_in_request(body: &[u8]) -> Vec<String> {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut tables = Vec::new();
    if let Some(name) = json.get("TableName").and_then(|v| v.as_str()) {
        tables.push(name.to_owned());
    }
    if let Some(items) = json.get("RequestItems").and_then(|v| v.as_object()) {
        tables.extend(items.keys().cloned());
    }
    if let Some(items) = json.get("TransactItems").and_then(|v| v.as_array()) {
        for item in items {
            if let Some(inner) = item.as_object() {
                for action in inner.values() {
                    if let Some(name) = action.get("TableName").and_then(|v| v.as_str()) {
                        tables.push(name.to_owned());
                    }
                }
            }
        }
    }
    tables
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "wif-call-counter"
    }

    // Counted just before transmission so every retry attempt counts: each is a billed request.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let tables = context
            .request()
            .body()
            .bytes()
            .map(tables_in_request)
            .unwrap_or_default();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            for table in tables {
                touched.insert((operation.clone(), table));
            }
        }
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::tables_in_request;

    #[test]
    fn finds_tables_in_every_request_shape() {
        assert_eq!(tables_in_request(br#"{"TableName":"a","Key":{}}"#), vec!["a"]);
        let mut batch = tables_in_request(br#"{"RequestItems":{"b":{},"c":{}}}"#);
        batch.sort();
        assert_eq!(batch, vec!["b", "c"]);
        assert_eq!(
            tables_in_request(br#"{"TransactItems":[{"Put":{"TableName":"d"}},{"ConditionCheck":{"TableName":"e"}}]}"#),
            vec!["d", "e"]
        );
        assert!(tables_in_request(b"not json").is_empty());
    }
}
