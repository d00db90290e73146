//! SCIM directory benchmark: DynamoDB requests per SCIM operation (counted by the SDK interceptor against moto,
//! through the real API → service → DynamoDB store stack), and CPU time per request of the pure API + service
//! layers over the in-memory store (what the handler itself costs, without network).
//!
//! Run: `cargo bench -p wif-store --bench scim_directory` (needs `moto_server` on PATH). The call counts do not
//! depend on the build profile; CPU times do (release is representative of Lambda).
//!
//! The 10,000-member group is seeded with raw BatchWriteItem membership items (moto's TransactWriteItems deep-copies
//! the whole table per call, so seeding through the API would take hours there); adding one more member then goes
//! through the normal API path, which is what is measured.
//!
//! `SCIM_BENCH_CPU_ONLY=1` skips the DynamoDB part (no moto needed). Instruction counts per CPU case, repeatable on a
//! busy machine: `valgrind --tool=callgrind --dump-before='*cpu_case_boundary*'` on the bench binary with that
//! variable set writes one profile per case (the first is the setup), each of `N` requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use http::{Request, Response};
use serde_json::{Value, json};
use wif_common::FixedClock;
use wif_common::audit::LogOnlyAudit;
use wif_scim::api::ScimApi;
use wif_scim::memory::MemoryDirectory;
use wif_scim::service::{Caller, DirectoryService, ServiceConfig};
use wif_scim::store::DirectoryStore;
use wif_store::directory::DynamoDirectory;
use wif_store::directory::codec::membership_item;
use wif_store::directory::keys::TenantKeys;
use wif_store::{CallCounter, TableNames};
use wif_testkit::tables::create_tables;

const BASE: &str = "https://scim.example.com/scim/v2";
const TENANT: &str = "bench-tenant";

fn api_over(store: Arc<dyn DirectoryStore>) -> ScimApi {
    // Default password iterations are irrelevant: no benchmarked request carries a password.
    ScimApi::new(DirectoryService::new(
        store,
        Arc::new(LogOnlyAudit),
        Arc::new(FixedClock::at(1_767_225_600)),
        ServiceConfig::default(),
    ))
}

fn caller() -> Caller {
    Caller {
        tenant_id: TENANT.into(),
        client_id: "bench-client".into(),
        can_write: true,
    }
}

async fn call(api: &ScimApi, method: &str, target: &str, body: Option<Value>) -> Response<String> {
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap_or_default())
        .unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(target)
        .header("Content-Type", "application/scim+json")
        .body(body)
        .unwrap_or_else(|err| panic!("request {method} {target}: {err}"));
    api.handle(&request, caller(), BASE, None).await
}

fn json_body(response: &Response<String>) -> Option<Value> {
    serde_json::from_str(response.body()).ok()
}

fn expect(response: &Response<String>, status: u16, what: &str) {
    if response.status() != status {
        eprintln!(
            "{what}: expected {status}, got {} {:?}",
            response.status(),
            json_body(response)
        );
        std::process::exit(1);
    }
}

fn id_of(response: &Response<String>) -> String {
    json_body(response)
        .and_then(|b| b["id"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn patch_active(value: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "Replace", "path": "active", "value": if value { "True" } else { "False" }}]})
}

fn add_member(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]})
}

fn user_body(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
           "userName": name, "externalId": format!("ext-{name}"), "active": true,
           "name": {"givenName": "Bench", "familyName": name},
           "emails": [{"type": "work", "primary": true, "value": format!("{name}@bench.example")}],
           "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": "7"}})
}

fn fmt_calls(calls: &BTreeMap<String, u64>) -> String {
    let total: u64 = calls.values().sum();
    let parts: Vec<String> = calls.iter().map(|(op, n)| format!("{op}×{n}")).collect();
    format!("{total:>3}  ({})", parts.join(", "))
}

async fn dynamodb_calls() {
    let counter = CallCounter::new();
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = counter.client(&config);
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    if let Err(err) = create_tables(&client, &names).await {
        eprintln!("cannot create tables: {err}");
        std::process::exit(1);
    }
    let api = api_over(Arc::new(DynamoDirectory::new(client.clone(), &names.directory)));

    let mut users = Vec::new();
    for i in 0..60 {
        let response = call(&api, "POST", "/Users", Some(user_body(&format!("user{i:03}")))).await;
        expect(&response, 201, "seed user");
        users.push(id_of(&response));
    }
    let small = call(&api, "POST", "/Groups", Some(json!({"displayName": "ten", "members": users[..10].iter().map(|u| json!({"value": u})).collect::<Vec<_>>()}))).await;
    expect(&small, 201, "seed group of 10");
    let small = id_of(&small);
    let large = call(&api, "POST", "/Groups", Some(json!({"displayName": "ten-thousand"}))).await;
    expect(&large, 201, "seed large group");
    let large = id_of(&large);
    let keys = TenantKeys::new(&TENANT.into());
    let large_id = large.as_str().into();
    let fake_members: Vec<WriteRequest> = (0..10_000)
        .map(|i| {
            let item = membership_item(&keys, &large_id, &format!("seeded-member-{i:05}").into());
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().expect("put request"))
                .build()
        })
        .collect();
    for chunk in fake_members.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let output = client
                .batch_write_item()
                .request_items(&names.directory, pending)
                .send()
                .await
                .expect("seed memberships");
            pending = output
                .unprocessed_items
                .and_then(|mut u| u.remove(&names.directory))
                .unwrap_or_default();
        }
    }

    println!("DynamoDB requests per SCIM request (API → service → DynamoDB store, moto, counted by CallCounter)");
    let measure = |label: &str, calls: BTreeMap<String, u64>| println!("  {label:<58} {}", fmt_calls(&calls));
    counter.reset();

    let r = call(&api, "GET", "/Users?filter=userName+eq+%22USER007%22", None).await;
    expect(&r, 200, "get by userName");
    measure("GET /Users?filter=userName eq (Entra lookup)", counter.take());
    let r = call(&api, "GET", "/Users?filter=userName+eq+%22not-there%22", None).await;
    expect(&r, 200, "test connection");
    measure(
        "GET /Users?filter=userName eq <random> (Test Connection)",
        counter.take(),
    );
    let r = call(&api, "GET", "/Users?filter=externalId+eq+%22ext-user008%22", None).await;
    expect(&r, 200, "externalId");
    measure("GET /Users?filter=externalId eq", counter.take());
    let r = call(
        &api,
        "GET",
        "/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22user009%40bench.example%22",
        None,
    )
    .await;
    expect(&r, 200, "email");
    measure("GET /Users?filter=emails[type eq \"work\"].value eq", counter.take());
    let r = call(
        &api,
        "GET",
        &format!("/Users/{}?excludedAttributes=groups", users[3]),
        None,
    )
    .await;
    expect(&r, 200, "get by id");
    measure("GET /Users/{id}?excludedAttributes=groups", counter.take());
    let r = call(&api, "GET", &format!("/Users/{}", users[3]), None).await;
    expect(&r, 200, "get by id with groups");
    measure("GET /Users/{id} (with derived groups)", counter.take());
    let r = call(&api, "POST", "/Users", Some(user_body("fresh"))).await;
    expect(&r, 201, "create");
    measure("POST /Users (create, enterprise extension)", counter.take());
    let r = call(
        &api,
        "PATCH",
        &format!("/Users/{}", users[4]),
        Some(patch_active(false)),
    )
    .await;
    expect(&r, 200, "patch");
    measure("PATCH /Users/{id} (disable; answers 200 with the user)", counter.take());
    let r = call(
        &api,
        "PATCH",
        &format!("/Users/{}?excludedAttributes=groups", users[4]),
        Some(patch_active(true)),
    )
    .await;
    expect(&r, 200, "patch");
    measure("PATCH /Users/{id}?excludedAttributes=groups", counter.take());
    for (label, group) in [("10", &small), ("10,000", &large)] {
        let r = call(&api, "PATCH", &format!("/Groups/{group}"), Some(add_member(&users[40]))).await;
        expect(&r, 204, "add member");
        measure(
            &format!("PATCH /Groups/{{id}} add 1 member, group of {label}"),
            counter.take(),
        );
        let check = format!(
            "/Groups?filter=id+eq+%22{group}%22+and+members+eq+%22{}%22&excludedAttributes=members",
            users[40]
        );
        let r = call(&api, "GET", &check, None).await;
        expect(&r, 200, "membership check");
        measure(
            &format!("GET /Groups?filter=id eq and members eq, group of {label}"),
            counter.take(),
        );
        let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "Remove", "path": format!("members[value eq \"{}\"]", users[40])}]});
        let r = call(&api, "PATCH", &format!("/Groups/{group}"), Some(remove)).await;
        expect(&r, 204, "remove member");
        measure(
            &format!("PATCH /Groups/{{id}} remove 1 member, group of {label}"),
            counter.take(),
        );
        let r = call(
            &api,
            "GET",
            &format!("/Groups/{group}?excludedAttributes=members"),
            None,
        )
        .await;
        expect(&r, 200, "get group");
        measure(
            &format!("GET /Groups/{{id}}?excludedAttributes=members, group of {label}"),
            counter.take(),
        );
        let r = call(&api, "GET", &format!("/Groups/{group}"), None).await;
        expect(&r, 200, "get group with members");
        measure(
            &format!("GET /Groups/{{id}} with its members, group of {label}"),
            counter.take(),
        );
    }
    let r = call(
        &api,
        "GET",
        "/Groups?filter=displayName+eq+%22ten%22&excludedAttributes=members",
        None,
    )
    .await;
    expect(&r, 200, "displayName");
    measure(
        "GET /Groups?filter=displayName eq &excludedAttributes=members",
        counter.take(),
    );
    let r = call(&api, "GET", "/Users?count=50&excludedAttributes=groups", None).await;
    expect(&r, 200, "list");
    measure(
        "GET /Users?count=50&excludedAttributes=groups (tenant of 61)",
        counter.take(),
    );
    let r = call(&api, "GET", "/Users?cursor=&count=50&excludedAttributes=groups", None).await;
    expect(&r, 200, "cursor list");
    measure("GET /Users?cursor=&count=50&excludedAttributes=groups", counter.take());
    let r = call(&api, "GET", "/Users?count=50", None).await;
    expect(&r, 200, "list with groups");
    measure("GET /Users?count=50 (with each user's derived groups)", counter.take());
    let r = call(&api, "GET", "/Users?cursor=&count=50", None).await;
    expect(&r, 200, "cursor list with groups");
    measure("GET /Users?cursor=&count=50 (with derived groups)", counter.take());
    let r = call(&api, "DELETE", &format!("/Users/{}", users[5]), None).await;
    expect(&r, 204, "delete user");
    measure("DELETE /Users/{id} (member of 1 group)", counter.take());
    let r = call(&api, "DELETE", &format!("/Users/{}", users[50]), None).await;
    expect(&r, 204, "delete user");
    measure("DELETE /Users/{id} (member of no group)", counter.take());
    let r = call(&api, "DELETE", &format!("/Groups/{small}"), None).await;
    expect(&r, 204, "delete group");
    measure("DELETE /Groups/{id}, group of 9", counter.take());
}

/// Builds the i-th request of a CPU case: (method, target, body).
type RequestMaker = Box<dyn Fn(usize) -> (String, String, Option<Value>)>;

/// CPU time of the calling thread (Linux schedstat), so other processes on the machine do not inflate it.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Marks the start of each CPU case for callgrind's `--dump-before` (see the crate doc); does nothing otherwise.
#[inline(never)]
fn cpu_case_boundary(label: &str) {
    std::hint::black_box(label);
}

async fn cpu_per_request() {
    let store = Arc::new(MemoryDirectory::new());
    let api = api_over(store);
    let mut users = Vec::new();
    for i in 0..1_000 {
        let r = call(&api, "POST", "/Users", Some(user_body(&format!("cpu{i:04}")))).await;
        users.push(id_of(&r));
    }
    let group = id_of(&call(&api, "POST", "/Groups", Some(json!({"displayName": "cpu"}))).await);
    println!();
    println!("CPU time per request in the handler (API + service + engine over the in-memory store, one thread,");
    println!("tenant of ~2,000 users; index pages count the whole tenant, cursor pages read one page)");
    const N: usize = 1_000;
    let cases: Vec<(&str, RequestMaker)> = vec![
        (
            "GET /Users?filter=userName eq",
            Box::new(|i| {
                (
                    "GET".into(),
                    format!("/Users?filter=userName+eq+%22cpu{:04}%22", i % 1_000),
                    None,
                )
            }),
        ),
        (
            "POST /Users (create)",
            Box::new(|i| ("POST".into(), "/Users".into(), Some(user_body(&format!("new{i:05}"))))),
        ),
        (
            "PATCH /Users/{id} (disable/enable)",
            Box::new({
                let users = users.clone();
                move |i| {
                    (
                        "PATCH".into(),
                        format!("/Users/{}", users[i % users.len()]),
                        Some(patch_active(i % 2 == 0)),
                    )
                }
            }),
        ),
        (
            "PATCH /Groups/{id} add member",
            Box::new({
                let users = users.clone();
                let group = group.clone();
                move |i| {
                    (
                        "PATCH".into(),
                        format!("/Groups/{group}"),
                        Some(add_member(&users[i % users.len()])),
                    )
                }
            }),
        ),
        (
            "GET /Users?count=100&startIndex=101&excludedAttributes=groups",
            Box::new(|_| {
                (
                    "GET".into(),
                    "/Users?count=100&excludedAttributes=groups&startIndex=101".into(),
                    None,
                )
            }),
        ),
        (
            "GET /Users?cursor=&count=100&excludedAttributes=groups",
            Box::new(|_| {
                (
                    "GET".into(),
                    "/Users?cursor=&count=100&excludedAttributes=groups".into(),
                    None,
                )
            }),
        ),
    ];
    for (label, make) in cases {
        cpu_case_boundary(label);
        let cpu_start = thread_cpu();
        let wall_start = Instant::now();
        for i in 0..N {
            let (method, target, body) = make(i);
            let r = call(&api, &method, &target, body).await;
            if r.status().as_u16() >= 400 {
                eprintln!("{label}: {} {:?}", r.status(), json_body(&r));
                std::process::exit(1);
            }
        }
        let wall = wall_start.elapsed() / N as u32;
        let cpu = match (cpu_start, thread_cpu()) {
            (Some(a), Some(b)) => format!("{:>8.1} µs CPU", (b - a).as_secs_f64() * 1e6 / N as f64),
            _ => "   n/a".into(),
        };
        println!("  {label:<58} {cpu}  {:>8.1} µs wall", wall.as_secs_f64() * 1e6);
    }
    cpu_case_boundary("end");
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tokio runtime: {err}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async {
        if std::env::var_os("SCIM_BENCH_CPU_ONLY").is_none() {
            dynamodb_calls().await;
        }
        cpu_per_request().await;
    });
}
