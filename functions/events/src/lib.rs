//! The events Lambda: a DynamoDB stream event source mapping hands it batches of Directory stream records; each
//! committed change becomes one event in its tenant's feed (for polling and push) and one EventBridge entry. A thin
//! adapter: [`wif_store::directory::stream`] decodes each record, [`wif_events::pipeline::Pipeline`] does the
//! rest, and the answer is the stream's partial-batch response (`ReportBatchItemFailures`): the mapping redelivers
//! from the first record that did not make it.

pub mod bus;
pub mod config;
pub mod permissions;
mod wiring;

use std::collections::HashMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use wif_events::change::RecordOrigin;
use wif_events::pipeline::{DecodedRecord, Pipeline};

/// What the handler needs, built once per Lambda environment.
pub struct EventsApp {
    pub pipeline: Pipeline,
    pub clock_ms: fn() -> i64,
}

fn image(item: &serde_dynamo::Item) -> HashMap<String, AttributeValue> {
    item.clone().into()
}

/// One stream record, decoded.
pub fn decode_record(record: &EventRecord) -> DecodedRecord {
    let (old, new) = (image(&record.change.old_image), image(&record.change.new_image));
    DecodedRecord {
        origin: RecordOrigin {
            record_id: record.event_id.clone(),
            committed_at_ms: record.change.approximate_creation_date_time.timestamp_millis(),
            sequence: record.change.sequence_number.clone().unwrap_or_default(),
        },
        change: wif_store::directory::stream::decode(&record.event_name, Some(&old), Some(&new))
            .map_err(|err| err.to_string()),
    }
}

/// Handles one batch; never fails as an invocation (a failure is reported per record).
pub async fn handle(app: &EventsApp, event: Event) -> DynamoDbEventResponse {
    let records: Vec<DecodedRecord> = event.records.iter().map(decode_record).collect();
    let outcome = app.pipeline.process(&records, &app.clock_ms).await;
    tracing::info!(
        records = records.len(),
        events = outcome.events,
        skipped = outcome.skipped,
        published = outcome.published,
        retry_from = outcome.retry_from.as_deref().unwrap_or(""),
        "stream batch handled"
    );
    let mut response = DynamoDbEventResponse::default();
    if let Some(record_id) = outcome.retry_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(record_id);
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests;
