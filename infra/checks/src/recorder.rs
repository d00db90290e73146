//! Records the IAM authorisation each DynamoDB request needs, as the SDK sends it: the action, the physical table
//! and the index it reads. `wif_store::CallCounter` counts operations per table; IAM needs more detail for
//! transactions (TransactWriteItems is authorised as PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item and
//! table) and for queries on an index (authorised on the index ARN).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// One authorisation a request needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IamCall {
    /// e.g. `dynamodb:PutItem`.
    pub action: String,
    /// Physical table name.
    pub table: String,
    /// The index a Query or Scan reads, if any.
    pub index: Option<String>,
}

fn call(action: &str, table: &str, index: Option<&str>) -> IamCall {
    IamCall {
        action: format!("dynamodb:{action}"),
        table: table.to_owned(),
        index: index.map(str::to_owned),
    }
}

/// The authorisations one DynamoDB request needs, from its operation name and JSON body.
pub fn iam_calls(operation: &str, body: &[u8]) -> Vec<IamCall> {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return vec![call(operation, "", None)];
    };
    let transact_items = || json["TransactItems"].as_array().into_iter().flatten();
    match operation {
        "TransactWriteItems" => transact_items()
            .filter_map(Value::as_object)
            .flat_map(|item| item.iter())
            .map(|(kind, request)| {
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => other,
                };
                call(action, request["TableName"].as_str().unwrap_or_default(), None)
            })
            .collect(),
        "TransactGetItems" => transact_items()
            .map(|item| call("GetItem", item["Get"]["TableName"].as_str().unwrap_or_default(), None))
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => json["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, _)| call(operation, table, None))
            .collect(),
        _ => vec![call(
            operation,
            json["TableName"].as_str().unwrap_or_default(),
            json["IndexName"].as_str(),
        )],
    }
}

/// SDK interceptor collecting [`IamCall`]s; clones share one set.
#[derive(Debug, Clone, Default)]
pub struct IamRecorder {
    calls: Arc<Mutex<BTreeSet<IamCall>>>,
}

impl IamRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> BTreeSet<IamCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Intercept for IamRecorder {
    fn name(&self) -> &'static str {
        "wif-iam-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default();
        let body = context.request().body().bytes().unwrap_or_default();
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(iam_calls(&operation, body));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_request_shape_to_its_authorisations() {
        assert_eq!(
            iam_calls("GetItem", br#"{"TableName":"t","Key":{}}"#),
            vec![call("GetItem", "t", None)]
        );
        assert_eq!(
            iam_calls("Query", br#"{"TableName":"t","IndexName":"gsi1"}"#),
            vec![call("Query", "t", Some("gsi1"))]
        );
        assert_eq!(
            iam_calls(
                "TransactWriteItems",
                br#"{"TransactItems":[{"Put":{"TableName":"a"}},{"ConditionCheck":{"TableName":"b"}},
                    {"Update":{"TableName":"a"}},{"Delete":{"TableName":"c"}}]}"#
            ),
            vec![
                call("PutItem", "a", None),
                call("ConditionCheckItem", "b", None),
                call("UpdateItem", "a", None),
                call("DeleteItem", "c", None)
            ]
        );
        assert_eq!(
            iam_calls("TransactGetItems", br#"{"TransactItems":[{"Get":{"TableName":"a"}}]}"#),
            vec![call("GetItem", "a", None)]
        );
        let mut batch = iam_calls("BatchWriteItem", br#"{"RequestItems":{"b":[],"a":[]}}"#);
        batch.sort();
        assert_eq!(
            batch,
            vec![call("BatchWriteItem", "a", None), call("BatchWriteItem", "b", None)]
        );
        // An unreadable body still records the operation, so it can never pass unnoticed.
        assert_eq!(iam_calls("Scan", b"\xff"), vec![call("Scan", "", None)]);
    }
}
