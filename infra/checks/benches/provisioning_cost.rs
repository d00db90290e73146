//! What one provisioning operation costs in AWS, from measured requests: the real token and SCIM handlers (bearer
//! check and audit trail included) run against moto through the real SDK; an SDK interceptor records every
//! DynamoDB request and response, and turns them into read and write request units by DynamoDB's billing rules
//! (item sizes measured from the request and response bodies, GSI writes counted from the index keys present).
//! Handler time comes from the same requests over in-memory stores (no network), and log volume from the JSON
//! lines the handlers emit at the production level (info).
//!
//! Run: `cargo bench -p infra-checks --bench provisioning_cost` (needs `moto_server`; `--profile dev` for a quick
//! run — request and unit counts do not depend on the profile, handler times do). The prices it applies are
//! printed with their date; infra/README.md quotes a run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::ports::{TokenRecord, TokenStore};
use wif_auth::scope::Scope;
use wif_auth::service::{TokenPorts, TokenService, TokenSettings};
use wif_auth::testing::{
    InMemoryClients, InMemoryKeyStore, InMemoryRateCounter, InMemoryTokenStore, StaticJwksFetcher, TestKey,
    entra_like_claims, jwks_document, sample_registration, sign_jwt,
};
use wif_common::audit::{AuditSink, LogOnlyAudit};
use wif_common::telemetry::{CapturedLogs, json_subscriber_into};
use wif_common::{Clock, FixedClock};
use wif_store::audit::AuditRepository;
use wif_store::clients::ClientRepository;
use wif_store::keys::KeyRepository;
use wif_store::rate_limits::RateLimitRepository;
use wif_store::tokens::TokenRepository;
use wif_store::{TableKind, TableNames};

const NOW: i64 = 1_767_225_600;
const ROUNDS: usize = 20;

// Prices assumed (us-east-1, on-demand, as published since the 1 Nov 2024 DynamoDB on-demand price cut; checked
// for this estimate in 2026). Verify against the AWS pricing pages for your region before quoting.
const PRICE_DATE: &str = "us-east-1 list prices as of 2026 (DynamoDB on-demand since 2024-11-01)";
const USD_PER_MILLION_WRU: f64 = 0.625;
const USD_PER_MILLION_RRU: f64 = 0.125;
const USD_PER_GB_SECOND_ARM64: f64 = 0.000_013_333_4;
const USD_PER_MILLION_LAMBDA_REQUESTS: f64 = 0.20;
const USD_PER_GB_LOGS_INGESTED: f64 = 0.50;
/// Assumed DynamoDB round trip from Lambda in the same region (single-digit milliseconds; p50 of a small item).
const DYNAMODB_LATENCY_MS: f64 = 5.0;

/// Read and write units of the requests sent since the last take, plus request counts by operation.
#[derive(Debug, Default, Clone)]
struct Usage {
    requests: BTreeMap<String, u64>,
    rru: f64,
    wru: f64,
}

/// GSI hash-key attribute names per physical table, from the template.
type IndexKeys = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone)]
struct Meter {
    usage: Arc<Mutex<Usage>>,
    index_keys: Arc<IndexKeys>,
}

fn item_size(item: &Value) -> usize {
    serde_json::to_vec(item).map(|b| b.len()).unwrap_or(0)
}

fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

impl Meter {
    fn take(&self) -> Usage {
        std::mem::take(&mut *self.usage.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn gsis_written(&self, table: &str, item: &Value) -> usize {
        self.index_keys
            .get(table)
            .map(|keys| keys.iter().filter(|key| item.get(key.as_str()).is_some()).count())
            .unwrap_or(0)
    }

    /// A write of a whole item: its size in 1 KB units, once for the table and once per index it appears in.
    fn put_units(&self, table: &str, item: &Value) -> f64 {
        units(item_size(item), 1024) * (1 + self.gsis_written(table, item)) as f64
    }

    /// A delete whose old item the response does not show: charged as if the item were in every index (upper bound).
    fn blind_delete_units(&self, table: &str) -> f64 {
        (1 + self.index_keys.get(table).map_or(0, Vec::len)) as f64
    }

    fn write_units(&self, operation: &str, request: &Value) -> f64 {
        let table = request["TableName"].as_str().unwrap_or_default();
        match operation {
            "PutItem" => self.put_units(table, &request["Item"]),
            // The measured operations update rate counters only (no index): one unit for the item.
            "UpdateItem" => 1.0,
            "DeleteItem" => self.blind_delete_units(table),
            "TransactWriteItems" => {
                2.0 * request["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .flat_map(|item| item.iter())
                    .map(|(kind, inner)| {
                        let table = inner["TableName"].as_str().unwrap_or_default();
                        match kind.as_str() {
                            "Put" => self.put_units(table, &inner["Item"]),
                            "Delete" => self.blind_delete_units(table),
                            _ => 1.0,
                        }
                    })
                    .sum::<f64>()
            }
            "BatchWriteItem" => request["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(table, writes)| {
                    writes.as_array().into_iter().flatten().map(move |write| {
                        if write.get("PutRequest").is_some() {
                            self.put_units(table, &write["PutRequest"]["Item"])
                        } else {
                            self.blind_delete_units(table)
                        }
                    })
                })
                .sum(),
            _ => 0.0,
        }
    }
}

fn read_units(operation: &str, request: &Value, response: &Value) -> f64 {
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false) && request.get("IndexName").is_none();
    let factor = if consistent { 1.0 } else { 0.5 };
    match operation {
        "GetItem" => factor * units(item_size(&response["Item"]), 4096),
        "Query" | "Scan" => {
            let bytes: usize = response["Items"].as_array().into_iter().flatten().map(item_size).sum();
            factor * units(bytes, 4096)
        }
        "BatchGetItem" => response["Responses"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, items)| {
                let consistent = request["RequestItems"][table]["ConsistentRead"]
                    .as_bool()
                    .unwrap_or(false);
                let factor = if consistent { 1.0 } else { 0.5 };
                items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |item| factor * units(item_size(item), 4096))
            })
            .sum(),
        // Conditional writes that fail still consume write units; reads only come from the operations above.
        _ => 0.0,
    }
}

#[derive(Debug)]
struct PendingRequest(String, Value);

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "provisioning-cost-meter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default();
        let request: Value = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let wru = self.write_units(&operation, &request);
        {
            let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
            *usage.requests.entry(operation.clone()).or_default() += 1;
            usage.wru += wru;
        }
        cfg.interceptor_state()
            .store_put(PendingRequestState(Arc::new(PendingRequest(operation, request))));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(PendingRequestState(pending)) = cfg.load::<PendingRequestState>().cloned() else {
            return Ok(());
        };
        let PendingRequest(operation, request) = pending.as_ref();
        let response: Value = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let rru = read_units(operation, request, &response);
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).rru += rru;
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct PendingRequestState(Arc<PendingRequest>);

impl aws_smithy_types::config_bag::Storable for PendingRequestState {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

fn index_keys(names: &TableNames) -> IndexKeys {
    let definitions = wif_testkit::tables::product_tables().expect("template tables");
    TableKind::ALL
        .into_iter()
        .map(|kind| {
            let definition = definitions
                .iter()
                .find(|d| d.logical_id == kind.logical_id())
                .expect("table in template");
            let keys = definition
                .indexes
                .iter()
                .filter_map(|index| index.keys.iter().find(|k| k.hash).map(|k| k.name.clone()))
                .collect();
            (names.get(kind).to_owned(), keys)
        })
        .collect()
}

fn http(method: &str, uri: &str, content_type: &str, body: &str, bearer: Option<&str>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "scim.example.com")
        .header("user-agent", "Microsoft.Identity.Provisioning")
        .header("content-type", content_type);
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request: Request = builder
        .body(if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_owned())
        })
        .expect("request");
    // A function URL event carries the caller's address; the token endpoint rate-limits by it too.
    let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some("203.0.113.9".into());
    request.with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(context))
}

fn json_of(response: &lambda_http::Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or_default(),
        _ => Value::Null,
    }
}

fn user_body(n: usize) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName":"user{n}@contoso.com","externalId":"ext-{n}","active":true,"displayName":"User {n}",
        "name":{{"givenName":"Given{n}","familyName":"Family{n}","formatted":"Given{n} Family{n}"}},
        "emails":[{{"type":"work","value":"user{n}@contoso.com","primary":true}}],
        "title":"Engineer","preferredLanguage":"en-US",
        "addresses":[{{"type":"work","streetAddress":"1 Main St","locality":"Redmond","region":"WA","postalCode":"98052","country":"US","primary":true}}],
        "phoneNumbers":[{{"type":"work","value":"+1 425 555 0100"}}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{{"employeeNumber":"{n}","department":"R&D","costCenter":"4711","organization":"Contoso"}}}}"#
    )
}

async fn scim_call(app: &scim::ScimApp, bearer: &str, method: &str, path: String, body: String) -> (u16, Value) {
    let request = http(
        method,
        &format!("/scim/v2{path}"),
        "application/scim+json",
        &body,
        Some(bearer),
    );
    let response = scim::handle(app, request).await;
    (response.status().as_u16(), json_of(&response))
}

/// One measured operation: DynamoDB usage per call and log bytes per call.
struct Measured {
    name: &'static str,
    usage: Usage,
    calls: usize,
    log_bytes: usize,
    handler_micros: f64,
    memory_mb: f64,
}

fn production_log_bytes(logs: &CapturedLogs) -> usize {
    logs.contents()
        .lines()
        .filter(|line| !line.contains("\"level\":\"DEBUG\"") && !line.contains("\"level\":\"TRACE\""))
        .map(|line| line.len() + 1)
        .sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    let plain = aws_sdk_dynamodb::Client::new(&config);
    wif_testkit::tables::create_tables(&plain, &names)
        .await
        .expect("tables");
    let meter = Meter {
        usage: Arc::default(),
        index_keys: Arc::new(index_keys(&names)),
    };
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(meter.clone())
            .build(),
    );
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let mut results = Vec::new();

    // --- token endpoint: one grant per Entra provisioning cycle (Entra caches the token for its lifetime) ---
    let key = TestKey::rsa("k1");
    let registration = sample_registration("c1");
    ClientRepository::new(plain.clone(), names.get(TableKind::Clients))
        .insert(&registration)
        .await
        .expect("registration");
    let fetcher = Arc::new(StaticJwksFetcher::default());
    fetcher.serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
    let token_app = |ports: TokenPorts| token::TokenApp {
        front: wif_edge::Front::FunctionUrl,
        service: TokenService::new(ports, TokenSettings::default(), JwksCacheSettings::default()),
        public_token_url: Some("https://scim.example.com/oauth2/token".into()),
    };
    let dynamo_token = token_app(TokenPorts {
        clients: Arc::new(ClientRepository::new(client.clone(), names.get(TableKind::Clients))),
        tokens: Arc::new(TokenRepository::new(
            client.clone(),
            names.get(TableKind::Tokens),
            clock.clone(),
        )),
        key_store: Arc::new(KeyRepository::new(client.clone(), names.get(TableKind::Keys))),
        fetcher: fetcher.clone(),
        rates: Arc::new(RateLimitRepository::new(
            client.clone(),
            names.get(TableKind::RateLimits),
        )),
        audit: Arc::new(AuditRepository::new(client.clone(), names.get(TableKind::Audit), 365)),
        clock: clock.clone(),
    });
    let memory_clients = Arc::new(InMemoryClients::default());
    memory_clients.insert(registration.clone());
    let memory_token = token_app(TokenPorts {
        clients: memory_clients,
        tokens: Arc::new(InMemoryTokenStore::default()),
        key_store: Arc::new(InMemoryKeyStore::default()),
        fetcher: fetcher.clone(),
        rates: Arc::new(InMemoryRateCounter::default()),
        audit: Arc::new(LogOnlyAudit),
        clock: clock.clone(),
    });
    let form = || {
        let assertion = sign_jwt(&key, "RS256", &entra_like_claims(&registration, NOW));
        format!(
            "grant_type=client_credentials&client_id=c1&client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&scope=scim"
        )
    };
    let post = |body: String| {
        http(
            "POST",
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            &body,
            None,
        )
    };
    // Warm the memory and shared key caches the way a warm Lambda environment has them.
    assert_eq!(token::handle(&dynamo_token, post(form())).await.status(), 200);
    assert_eq!(token::handle(&memory_token, post(form())).await.status(), 200);
    meter.take();
    let logs = CapturedLogs::default();
    let log_guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
    for _ in 0..ROUNDS {
        assert_eq!(token::handle(&dynamo_token, post(form())).await.status(), 200);
    }
    drop(log_guard);
    let usage = meter.take();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        assert_eq!(token::handle(&memory_token, post(form())).await.status(), 200);
    }
    results.push(Measured {
        name: "token grant (warm key cache)",
        usage,
        calls: ROUNDS,
        log_bytes: production_log_bytes(&logs),
        handler_micros: started.elapsed().as_secs_f64() * 1e6 / ROUNDS as f64,
        memory_mb: 256.0,
    });

    // --- SCIM: the operations an Entra cycle is made of, with bearer check and audit trail ---
    let access = wif_auth::credentials::AccessToken::generate().expect("token");
    let record = TokenRecord {
        token_hash: access.hash().to_owned(),
        client_id: "c1".into(),
        tenant_id: "contoso".into(),
        scopes: vec![Scope::Scim],
        issued_at: NOW,
        expires_at: NOW + 3600,
        revoked: false,
    };
    TokenRepository::new(plain.clone(), names.get(TableKind::Tokens), clock.clone())
        .put(&record)
        .await
        .expect("token record");
    let memory_tokens = Arc::new(InMemoryTokenStore::default());
    memory_tokens.put_token(&record).await.expect("token record");
    let scim_app = |store: Arc<dyn wif_scim::store::DirectoryStore>,
                    audit: Arc<dyn AuditSink>,
                    tokens: Arc<dyn TokenStore>,
                    counter: Arc<dyn wif_auth::ports::RateCounter>| scim::ScimApp {
        front: wif_edge::Front::FunctionUrl,
        // What the function deploys: the per-client limit, counted in batches in the RateLimits table.
        limit: wif_auth::request_limit::RequestLimit::new(counter, "scim:client", 6_000_000, scim::RATE_COUNT_BATCH),
        api: wif_scim::api::ScimApi::new(wif_scim::service::DirectoryService::new(
            store,
            audit,
            clock.clone(),
            wif_scim::service::ServiceConfig::default(),
        )),
        tokens,
        clock: clock.clone(),
        public_scim_url: Some("https://scim.example.com/scim/v2".into()),
    };
    let dynamo_scim = scim_app(
        Arc::new(wif_store::directory::DynamoDirectory::new(
            client.clone(),
            names.get(TableKind::Directory),
        )),
        Arc::new(AuditRepository::new(client.clone(), names.get(TableKind::Audit), 365)),
        Arc::new(TokenRepository::new(
            client.clone(),
            names.get(TableKind::Tokens),
            clock.clone(),
        )),
        Arc::new(wif_store::rate_limits::RateLimitRepository::new(
            client.clone(),
            names.get(TableKind::RateLimits),
        )),
    );
    let memory_scim = scim_app(
        Arc::new(wif_scim::memory::MemoryDirectory::new()),
        Arc::new(LogOnlyAudit),
        memory_tokens,
        Arc::new(wif_auth::testing::InMemoryRateCounter::default()),
    );
    let bearer = access.value().to_owned();
    let scim = |app, method, path: &str, body: String| scim_call(app, &bearer, method, path.to_owned(), body);
    // Per store: a group with ten members, and ROUNDS users to work on.
    let mut ids: BTreeMap<&'static str, (String, Vec<String>)> = BTreeMap::new();
    for (label, app) in [("dynamo", &dynamo_scim), ("memory", &memory_scim)] {
        let mut members = Vec::new();
        for n in 0..10 {
            let (status, user) = scim(app, "POST", "/Users", user_body(1000 + n)).await;
            assert_eq!(status, 201, "{user}");
            members.push(user["id"].as_str().unwrap_or_default().to_owned());
        }
        let members_json: Vec<Value> = members.iter().map(|id| serde_json::json!({"value": id})).collect();
        let group = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": members_json,
        });
        let (status, group) = scim(app, "POST", "/Groups", group.to_string()).await;
        assert_eq!(status, 201, "{group}");
        ids.insert(label, (group["id"].as_str().unwrap_or_default().to_owned(), Vec::new()));
    }
    meter.take();

    type Step = fn(usize, &str, &[String]) -> (&'static str, String, String, u16);
    let steps: &[(&'static str, Step)] = &[
        ("Test Connection (userName eq <random guid>)", |n, _, _| {
            (
                "GET",
                format!("/Users?filter=userName+eq+%22{n:08x}-0000-4000-8000-000000000000%22"),
                String::new(),
                200,
            )
        }),
        ("lookup: GET /Users?filter=userName eq (absent)", |n, _, _| {
            (
                "GET",
                format!("/Users?filter=userName+eq+%22user{n}%40contoso.com%22"),
                String::new(),
                200,
            )
        }),
        ("create user: POST /Users (enterprise extension)", |n, _, _| {
            ("POST", "/Users".into(), user_body(n), 201)
        }),
        ("lookup: GET /Users?filter=userName eq (present)", |n, _, _| {
            (
                "GET",
                format!("/Users?filter=userName+eq+%22user{n}%40contoso.com%22"),
                String::new(),
                200,
            )
        }),
        ("update user: PATCH /Users/{id} (disable)", |n, _, users| {
            (
                "PATCH",
                format!("/Users/{}", users.get(n).cloned().unwrap_or_default()),
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#.into(),
                200,
            )
        }),
        ("add member: PATCH /Groups/{id} (group of 10)", |n, group, users| {
            (
                "PATCH",
                format!("/Groups/{group}"),
                format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Add","path":"members","value":[{{"value":"{}"}}]}}]}}"#,
                    users.get(n).cloned().unwrap_or_default()
                ),
                204,
            )
        }),
        ("remove member: PATCH /Groups/{id}", |n, group, users| {
            (
                "PATCH",
                format!("/Groups/{group}"),
                format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Remove","path":"members[value eq \"{}\"]"}}]}}"#,
                    users.get(n).cloned().unwrap_or_default()
                ),
                204,
            )
        }),
        ("delete user: DELETE /Users/{id}", |n, _, users| {
            (
                "DELETE",
                format!("/Users/{}", users.get(n).cloned().unwrap_or_default()),
                String::new(),
                204,
            )
        }),
    ];
    for (name, step) in steps {
        let mut usage = Usage::default();
        let mut log_bytes = 0;
        let mut handler = 0.0;
        for round in 0..ROUNDS {
            for (label, app) in [("dynamo", &dynamo_scim), ("memory", &memory_scim)] {
                let (group, users) = ids.get_mut(label).expect("ids");
                let (method, path, body, expected) = step(round, group, users);
                let logs = CapturedLogs::default();
                let guard = tracing::subscriber::set_default(json_subscriber_into(logs.clone()));
                let started = Instant::now();
                let (status, answer) = scim(app, method, &path, body).await;
                let elapsed = started.elapsed().as_secs_f64() * 1e6;
                drop(guard);
                assert_eq!(status, expected, "{name}: {answer}");
                if method == "POST" {
                    users.push(answer["id"].as_str().unwrap_or_default().to_owned());
                }
                if label == "dynamo" {
                    let taken = meter.take();
                    for (operation, count) in taken.requests {
                        *usage.requests.entry(operation).or_default() += count;
                    }
                    usage.rru += taken.rru;
                    usage.wru += taken.wru;
                    log_bytes += production_log_bytes(&logs);
                } else {
                    handler += elapsed;
                }
            }
        }
        results.push(Measured {
            name,
            usage,
            calls: ROUNDS,
            log_bytes,
            handler_micros: handler / ROUNDS as f64,
            memory_mb: 512.0,
        });
    }

    report(&results);
}

fn report(results: &[Measured]) {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("Cost per operation, measured against moto ({ROUNDS} rounds each; handler time in a {profile} build)");
    println!("Prices: {PRICE_DATE}");
    println!(
        "  DynamoDB on-demand ${USD_PER_MILLION_WRU}/M WRU, ${USD_PER_MILLION_RRU}/M RRU; Lambda arm64 \
         ${USD_PER_GB_SECOND_ARM64}/GB-s + ${USD_PER_MILLION_LAMBDA_REQUESTS}/M requests; CloudWatch Logs \
         ${USD_PER_GB_LOGS_INGESTED}/GB ingested; assumed DynamoDB round trip {DYNAMODB_LATENCY_MS} ms"
    );
    println!();
    println!(
        "{:<52} {:>5} {:>6} {:>6} {:>8} {:>8} {:>6}  {:>10}  requests",
        "operation", "ddb", "RRU", "WRU", "handler", "billed", "logs", "USD per 1M"
    );
    for m in results {
        let calls = m.calls as f64;
        let requests: u64 = m.usage.requests.values().sum();
        let per_call = requests as f64 / calls;
        let rru = m.usage.rru / calls;
        let wru = m.usage.wru / calls;
        let handler_ms = m.handler_micros / 1000.0;
        // DynamoDB calls of one request run one after another; Lambda bills whole milliseconds.
        let billed_ms = (handler_ms + per_call * DYNAMODB_LATENCY_MS).ceil();
        let log_kb = m.log_bytes as f64 / calls / 1024.0;
        let usd = rru * USD_PER_MILLION_RRU
            + wru * USD_PER_MILLION_WRU
            + billed_ms / 1000.0 * m.memory_mb / 1024.0 * USD_PER_GB_SECOND_ARM64 * 1e6
            + USD_PER_MILLION_LAMBDA_REQUESTS
            + log_kb / (1024.0 * 1024.0) * USD_PER_GB_LOGS_INGESTED * 1e6;
        let breakdown: Vec<String> = m
            .usage
            .requests
            .iter()
            .map(|(op, n)| format!("{op}×{}", *n as f64 / calls))
            .collect();
        println!(
            "{:<52} {:>5.1} {:>6.1} {:>6.1} {:>6.2}ms {:>6.0}ms {:>4.1}KB  {:>10.2}  {}",
            m.name,
            per_call,
            rru,
            wru,
            handler_ms,
            billed_ms,
            log_kb,
            usd,
            breakdown.join(", ")
        );
    }
}
