//! Lambda's DynamoDB stream event source mapping, on loopback (as `cargo lambda watch` emulates function URLs).
//!
//! Like the mapping in infra/template.yaml it reads every shard from the trim horizon, hands batches of up to 100
//! records to the function as a real `DynamodbEvent`, and on the answer:
//! - `batchItemFailures` (ReportBatchItemFailures): redelivers from the named record on, after a pause;
//! - an invocation error: bisects the batch (BisectBatchOnFunctionError) and retries the halves;
//! - a record that failed every attempt goes to the on-failure destination (the stream dead-letter queue) with
//!   its stream coordinates, and the shard moves on.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};

/// Attempts per record before it goes to the dead-letter queue (the template's MaximumRetryAttempts).
const MAX_ATTEMPTS: u32 = 10;
const BATCH_SIZE: i32 = 100;

struct Mapping {
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    stream_arn: String,
    invoke_url: String,
    dead_letter_queue: Option<String>,
    idle: Duration,
}

fn image(values: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>) -> Value {
    values
        .map(|map| serde_json::to_value(serde_dynamo::Item::from(map.clone())).unwrap_or(Value::Null))
        .unwrap_or_else(|| json!({}))
}

/// One stream record as Lambda presents it.
fn lambda_record(stream_arn: &str, record: &Record) -> Value {
    let change = record.dynamodb();
    json!({
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": record.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or("us-east-1"),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            // Lambda delivers whole seconds.
            "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time()).map(|t| t.secs()),
            "Keys": image(change.and_then(|c| c.keys.as_ref())),
            "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
            "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()).unwrap_or_default(),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    })
}

enum Answer {
    Done,
    RetryFrom(usize),
    FunctionError(String),
}

impl Mapping {
    async fn invoke(&self, batch: &[Record]) -> Answer {
        let records: Vec<Value> = batch.iter().map(|r| lambda_record(&self.stream_arn, r)).collect();
        let event: aws_lambda_events::dynamodb::Event = match serde_json::from_value(json!({ "Records": records })) {
            Ok(event) => event,
            Err(err) => return Answer::FunctionError(format!("cannot build the event: {err}")),
        };
        let response = match self.http.post(&self.invoke_url).json(&event).send().await {
            Ok(response) => response,
            Err(err) => return Answer::FunctionError(err.to_string()),
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() || body.get("errorType").is_some() {
            return Answer::FunctionError(format!("status {status}: {body}"));
        }
        let failed = body["batchItemFailures"][0]["itemIdentifier"].as_str();
        match failed.and_then(|id| batch.iter().position(|r| r.event_id() == Some(id))) {
            Some(index) => Answer::RetryFrom(index),
            None if failed.is_some() => Answer::RetryFrom(0),
            None => Answer::Done,
        }
    }

    async fn dead_letter(&self, record: &Record, reason: &str) {
        let message = json!({
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": MAX_ATTEMPTS},
            "DDBStreamBatchInfo": {
                "streamArn": self.stream_arn,
                "startSequenceNumber": record.dynamodb().and_then(|c| c.sequence_number()),
                "batchSize": 1,
            },
            "eventID": record.event_id(),
            "reason": reason,
        });
        eprintln!(
            "stream-mapping: record {:?} failed {MAX_ATTEMPTS} times: {reason}",
            record.event_id()
        );
        if let Some(queue) = &self.dead_letter_queue {
            let sent = self
                .sqs
                .send_message()
                .queue_url(queue)
                .message_body(message.to_string())
                .send()
                .await;
            if let Err(err) = sent {
                eprintln!("stream-mapping: dead-letter queue unreachable: {err}");
            }
        }
    }

    /// Delivers one shard's batch, in order, until every record succeeded or was dead-lettered.
    async fn deliver(&self, records: Vec<Record>) {
        let mut queue: VecDeque<Vec<Record>> = VecDeque::from([records]);
        let mut attempts: HashMap<String, u32> = HashMap::new();
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            let answer = self.invoke(&batch).await;
            let (retry, reason): (Vec<Record>, String) = match answer {
                Answer::Done => continue,
                Answer::RetryFrom(index) => (batch[index..].to_vec(), "batch item failure".into()),
                Answer::FunctionError(reason) if batch.len() > 1 => {
                    eprintln!(
                        "stream-mapping: invocation failed ({reason}); bisecting {} records",
                        batch.len()
                    );
                    let (head, tail) = batch.split_at(batch.len() / 2);
                    queue.push_front(tail.to_vec());
                    queue.push_front(head.to_vec());
                    continue;
                }
                Answer::FunctionError(reason) => (batch.clone(), reason),
            };
            let id = retry.first().and_then(|r| r.event_id()).unwrap_or_default().to_owned();
            let count = attempts.entry(id).or_insert(0);
            *count += 1;
            if *count >= MAX_ATTEMPTS {
                self.dead_letter(&retry[0], &reason).await;
                queue.push_front(retry[1..].to_vec());
            } else {
                tokio::time::sleep(Duration::from_millis(100 << (*count).min(5))).await;
                queue.push_front(retry);
            }
        }
    }

    async fn shards(&self) -> Result<Vec<String>, String> {
        let description = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| format!("describe the stream: {e}"))?;
        Ok(description
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn iterator(&self, shard: &str) -> Result<Option<String>, String> {
        let output = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|e| format!("shard iterator: {e}"))?;
        Ok(output.shard_iterator().map(str::to_owned))
    }

    async fn run(&self) -> Result<(), String> {
        let mut iterators: HashMap<String, Option<String>> = HashMap::new();
        let mut last_listing = std::time::Instant::now() - Duration::from_secs(60);
        loop {
            if last_listing.elapsed() > Duration::from_secs(5) {
                for shard in self.shards().await? {
                    if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(shard) {
                        let iterator = self.iterator(slot.key()).await?;
                        slot.insert(iterator);
                    }
                }
                last_listing = std::time::Instant::now();
            }
            let mut delivered = false;
            for iterator in iterators.values_mut() {
                let Some(current) = iterator.clone() else { continue };
                let output = match self
                    .streams
                    .get_records()
                    .shard_iterator(&current)
                    .limit(BATCH_SIZE)
                    .send()
                    .await
                {
                    Ok(output) => output,
                    Err(err) => {
                        eprintln!("stream-mapping: get records: {err}");
                        continue;
                    }
                };
                if !output.records().is_empty() {
                    delivered = true;
                    self.deliver(output.records().to_vec()).await;
                }
                *iterator = output.next_shard_iterator().map(str::to_owned);
            }
            if !delivered {
                tokio::time::sleep(self.idle).await;
            }
        }
    }
}

/// Reads `table`'s stream for ever and invokes `function` at `address` (e.g. `http://127.0.0.1:9000`).
pub async fn run(table: &str, function: &str, address: &str) -> Result<(), String> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("describe {table}: {e}"))?;
    let stream_arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or_else(|| format!("{table} has no stream (StreamSpecification in infra/template.yaml)"))?
        .to_owned();
    let idle_ms = std::env::var("WIF_LOCAL_STREAM_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mapping = Mapping {
        streams: aws_sdk_dynamodbstreams::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| e.to_string())?,
        invoke_url: format!(
            "{}/2015-03-31/functions/{function}/invocations",
            address.trim_end_matches('/')
        ),
        dead_letter_queue: std::env::var("WIF_LOCAL_EVENTS_STREAM_DLQ_URL").ok(),
        stream_arn,
        idle: Duration::from_millis(idle_ms),
    };
    eprintln!("stream-mapping: {table} → {function} at {address}");
    mapping.run().await
}
