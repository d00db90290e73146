//! The fault proxy in front of moto, driven through the real SDK: each fault reaches the SDK as DynamoDB's would
//! (typed errors, retried as throttling / server errors / I/O errors), the applied-then-failed faults really apply
//! the write, rules touch only what they match, and the control API programs and reports them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, ScalarAttributeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wif_testkit::fault_proxy::{Fault, FaultControl, FaultProxy, ProxyConfig, Rule, ThrottleError};

const ATTEMPTS: u32 = 3;

fn any_loopback_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A proxy in front of the test binary's moto, and a fresh table created directly on moto.
async fn setup() -> (FaultProxy, String) {
    let proxy = FaultProxy::start(ProxyConfig {
        listen: any_loopback_port(),
        control: any_loopback_port(),
        upstream: wif_testkit::shared_moto().endpoint().to_owned(),
        log_faults: false,
    })
    .await
    .expect("proxy starts");
    let table = format!("{}-faults", wif_testkit::unique_prefix());
    let direct = wif_testkit::dynamodb_client().await;
    direct
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    (proxy, table)
}

/// An SDK client through the proxy; `attempts` as the SDK's retry strategy, with millisecond backoff.
async fn client_via(proxy: &FaultProxy, attempts: u32) -> Client {
    let config = wif_testkit::sdk_config(&proxy.endpoint()).await;
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(5));
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .retry_config(retry)
            .build(),
    )
}

async fn put_new(client: &Client, table: &str, pk: &str) -> Result<(), String> {
    client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map(drop)
        .map_err(|err| err.into_service_error().code().unwrap_or("no code").to_owned())
}

async fn stored(table: &str, pk: &str) -> bool {
    let direct = wif_testkit::dynamodb_client().await;
    let item = direct
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("direct read");
    item.item.is_some()
}

async fn fired(proxy: &FaultProxy, id: u64) -> u64 {
    proxy.rules().report(id).expect("rule").fired
}

#[tokio::test]
async fn passes_everything_through_without_rules() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    put_new(&client, &table, "a").await.unwrap();
    assert!(stored(&table, "a").await);
    assert_eq!(
        put_new(&client, &table, "a").await,
        Err("ConditionalCheckFailedException".into())
    );
    assert_eq!(proxy.rules().stats().requests.get("PutItem"), Some(&2));
}

#[tokio::test]
async fn throttling_outlasts_the_sdk_retries_with_dynamodbs_error_types() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    for error in [
        ThrottleError::ProvisionedThroughputExceededException,
        ThrottleError::ThrottlingException,
        ThrottleError::RequestLimitExceeded,
    ] {
        let id = proxy.rules().add(
            Rule::new(Fault::Throttle { error })
                .operation("PutItem")
                .body_contains(&table),
        );
        assert_eq!(put_new(&client, &table, "t").await, Err(error.name().to_owned()));
        assert_eq!(
            fired(&proxy, id).await,
            u64::from(ATTEMPTS),
            "{error:?} retried as throttling"
        );
        proxy.rules().remove(id);
    }
    assert!(!stored(&table, "t").await);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    let id = proxy
        .rules()
        .add(Rule::new(Fault::ServerError).operation("PutItem").body_contains(&table));
    assert_eq!(put_new(&client, &table, "s").await, Err("InternalServerError".into()));
    assert_eq!(fired(&proxy, id).await, u64::from(ATTEMPTS));
    assert!(!stored(&table, "s").await);
}

#[tokio::test]
async fn applied_then_failed_writes_are_applied_and_the_retry_meets_them() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    for (fault, pk) in [
        (Fault::AppliedThenServerError, "p500"),
        (Fault::AppliedThenReset, "preset"),
    ] {
        let id = proxy
            .rules()
            .add(Rule::new(fault.clone()).operation("PutItem").body_contains(pk).times(1));
        // The first attempt was applied, the answer lost; the SDK's retry then meets its own write.
        assert_eq!(
            put_new(&client, &table, pk).await,
            Err("ConditionalCheckFailedException".into()),
            "{fault:?}"
        );
        assert!(stored(&table, pk).await, "{fault:?} applied the write");
        assert_eq!(fired(&proxy, id).await, 1);
    }
}

#[tokio::test]
async fn resets_are_retried_and_outlast_the_retries() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    let once = proxy.rules().add(
        Rule::new(Fault::Reset)
            .operation("PutItem")
            .body_contains("once")
            .times(1),
    );
    put_new(&client, &table, "once")
        .await
        .expect("the retry after one reset succeeds");
    assert_eq!(fired(&proxy, once).await, 1);
    let always = proxy
        .rules()
        .add(Rule::new(Fault::Reset).operation("PutItem").body_contains("always"));
    let err = client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("always".into()))
        .send()
        .await
        .expect_err("every attempt is reset");
    assert!(
        matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(ref e) if e.is_io()),
        "{err:?}"
    );
    assert_eq!(fired(&proxy, always).await, u64::from(ATTEMPTS));
    assert!(!stored(&table, "always").await);
}

#[tokio::test]
async fn a_reset_is_an_rst_not_an_orderly_close() {
    let (proxy, _table) = setup().await;
    proxy.rules().add(Rule::new(Fault::Reset));
    let address = proxy.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let read = stream.read_to_end(&mut buffer).await;
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "read {buffer:?}"
    );
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    proxy.rules().add(
        Rule::new(Fault::Latency { ms: 300 })
            .operation("PutItem")
            .body_contains(&table),
    );
    let started = Instant::now();
    put_new(&client, &table, "slow").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(stored(&table, "slow").await);
}

#[tokio::test]
async fn only_the_nth_matching_request_fails_and_other_requests_pass() {
    let (proxy, table) = setup().await;
    let (_, other_table) = setup().await;
    let client = client_via(&proxy, 1).await;
    put_new(&client, &table, "k").await.unwrap();
    put_new(&client, &other_table, "k").await.unwrap();
    proxy.rules().add(
        Rule::new(Fault::ServerError)
            .operation("GetItem")
            .body_contains(&table)
            .skip(1)
            .times(1),
    );
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        for name in [&table, &other_table] {
            let result = client
                .get_item()
                .table_name(name)
                .key("pk", AttributeValue::S("k".into()))
                .send()
                .await;
            outcomes.push((name == &table, result.is_ok()));
        }
    }
    assert_eq!(
        outcomes,
        [
            (true, true),
            (false, true),
            (true, false),
            (false, true),
            (true, true),
            (false, true)
        ]
    );
}

#[tokio::test]
async fn the_control_api_programs_and_reports_rules() {
    let (proxy, table) = setup().await;
    let control = FaultControl::new(&proxy.control_url());
    let client = client_via(&proxy, 1).await;
    let rule: Rule = serde_json::from_str(&format!(
        r#"{{"operation":"PutItem","body_contains":["{table}"],"fault":{{"kind":"throttle","error":"ThrottlingException"}},"times":1}}"#
    ))
    .unwrap();
    let id = control.add(&rule).await.unwrap();
    assert_eq!(put_new(&client, &table, "c").await, Err("ThrottlingException".into()));
    put_new(&client, &table, "c").await.unwrap();
    let report = control.report(id).await.unwrap();
    assert_eq!((report.matched, report.fired, &report.rule), (2, 1, &rule));
    assert_eq!(control.reports().await.unwrap().len(), 1);
    assert_eq!(control.stats().await.unwrap().faults, 1);
    let invalid = Rule::new(Fault::Reset).probability(2.0, 0);
    assert!(control.add(&invalid).await.unwrap_err().to_string().contains("400"));
    control.remove(id).await.unwrap();
    assert!(control.report(id).await.unwrap_err().to_string().contains("404"));
    control.add(&Rule::new(Fault::Reset)).await.unwrap();
    control.clear().await.unwrap();
    assert!(control.reports().await.unwrap().is_empty());
}

/// A create as the Directory store writes it: one transaction, conditional on the item being new.
async fn transact_new(client: &Client, table: &str, pk: &str) -> Result<(), String> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    client
        .transact_write_items()
        .transact_items(aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build())
        .send()
        .await
        .map(drop)
        .map_err(|err| err.into_service_error().code().unwrap_or("no code").to_owned())
}

#[tokio::test]
async fn a_retried_transaction_whose_answer_was_lost_succeeds_as_in_dynamodb() {
    let (proxy, table) = setup().await;
    let client = client_via(&proxy, ATTEMPTS).await;
    for (fault, pk) in [
        (Fault::AppliedThenServerError, "tx500"),
        (Fault::AppliedThenReset, "txreset"),
    ] {
        let id = proxy.rules().add(
            Rule::new(fault.clone())
                .operation("TransactWriteItems")
                .body_contains(pk)
                .times(1),
        );
        // The SDK's retry carries the same ClientRequestToken: DynamoDB (and the proxy) answer success again.
        transact_new(&client, &table, pk)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(fired(&proxy, id).await, 1);
        assert!(stored(&table, pk).await);
        // A new call is a new token: the condition is checked again.
        assert_eq!(
            transact_new(&client, &table, pk).await,
            Err("TransactionCanceledException".into())
        );
    }
}
