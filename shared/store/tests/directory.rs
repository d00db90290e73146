//! The DynamoDB directory store against moto through the real SDK: the shared storage contract (including its
//! concurrency checks), the tenant prefix of every key, and the DynamoDB-call budget of the operations the SCIM
//! fast paths rely on.
//!
//! moto's server handles requests on parallel threads, but its TransactWriteItems is not thread-safe: it snapshots
//! whole tables with deepcopy and restores the snapshot when a transaction fails, which under concurrency resurrects
//! or loses other requests' writes (observed: three winners out of 20 racing userName creates). Real DynamoDB
//! transactions are serialisable. So this binary runs moto behind a WSGI wrapper that handles one request at a
//! time (connections still overlap), which gives moto DynamoDB's atomicity and lets the concurrency checks test
//! our conditional writes rather than moto's races.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use wif_scim::contract;
use wif_scim::store::{DirectoryError, DirectoryStore};
use wif_store::CallCounter;
use wif_store::TableNames;
use wif_store::directory::DynamoDirectory;
use wif_store::tables::create_tables;

const SERIAL_MOTO: &str = r#"
import sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))
run_simple("127.0.0.1", int(sys.argv[1]), serial, threaded=True)
"#;

struct SerialMoto {
    endpoint: String,
    _guard: Child,
}

static MOTO: OnceLock<SerialMoto> = OnceLock::new();

fn serial_moto() -> &'static str {
    &MOTO
        .get_or_init(|| {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port");
            let parent = std::process::id();
            let script_path = std::env::temp_dir().join(format!("wif-serial-moto-{parent}.py"));
            std::fs::write(&script_path, SERIAL_MOTO).expect("write moto wrapper");
            // Same guard as wif-testkit: the shell stops moto once this test process is gone.
            let guard = format!(
                "python3 {} {port} >/dev/null 2>&1 & m=$!; \
                 while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
                script_path.display()
            );
            let child = Command::new("sh")
                .arg("-c")
                .arg(guard)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn moto");
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "moto did not start (is moto[server] installed?)"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            SerialMoto {
                endpoint: format!("http://127.0.0.1:{port}"),
                _guard: child,
            }
        })
        .endpoint
}

async fn setup() -> (DynamoDirectory, aws_sdk_dynamodb::Client, String, CallCounter) {
    let counter = CallCounter::new();
    let config = wif_testkit::sdk_config(serial_moto()).await;
    let client = wif_store::dynamo::client_with(&config, Some(counter.clone()));
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    counter.reset();
    (
        DynamoDirectory::new(client.clone(), &names.directory),
        client,
        names.directory,
        counter,
    )
}

#[tokio::test]
async fn dynamodb_store_passes_the_storage_contract() {
    let (store, _, _, _) = setup().await;
    contract::run_all(&store).await;
}

#[tokio::test]
async fn every_key_carries_the_tenant_prefix() {
    let (store, client, table, _) = setup().await;
    let user = contract::user("prefix@example.com");
    store.create_user("tenant-x", &user).await.unwrap();
    let group = contract::group("G");
    store
        .create_group("tenant-x", &group, std::slice::from_ref(&user.id))
        .await
        .unwrap();
    let scan = client.scan().table_name(&table).send().await.unwrap();
    let items = scan.items.unwrap_or_default();
    assert_eq!(items.len(), 4, "user, marker, group, membership");
    for item in &items {
        for attribute in ["pk", "gsi1pk", "gsi2pk", "gsi3pk"] {
            if let Some(AttributeValue::S(value)) = item.get(attribute) {
                assert!(value.starts_with("T#tenant-x#"), "{attribute} = {value}");
            }
        }
        assert!(!item.contains_key("password"), "no clear-text password attribute");
    }
}

#[tokio::test]
async fn tampered_cursors_are_rejected() {
    let (store, _, _, _) = setup().await;
    for i in 0..3 {
        store
            .create_user("tenant-a", &contract::user(&format!("a{i}")))
            .await
            .unwrap();
        store
            .create_user("tenant-b", &contract::user(&format!("b{i}")))
            .await
            .unwrap();
    }
    let page_a = store.scan_users("tenant-a", None, 1).await.unwrap();
    let cursor = page_a.next_cursor.expect("more pages");
    assert_eq!(
        store.scan_users("tenant-b", Some(&cursor), 1).await,
        Err(DirectoryError::InvalidCursor),
        "a cursor of tenant A is refused for tenant B"
    );
    assert_eq!(
        store.scan_groups("tenant-a", Some(&cursor), 1).await,
        Err(DirectoryError::InvalidCursor)
    );
}

/// The fast paths' DynamoDB budget: constant per operation whatever the group size.
#[tokio::test]
async fn operations_cost_a_constant_number_of_calls() {
    let (store, _, _, counter) = setup().await;
    let t = "budget";
    let users: Vec<_> = (0..60).map(|i| contract::user(&format!("budget-{i}"))).collect();
    for u in &users {
        store.create_user(t, u).await.unwrap();
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let small = contract::group("small");
    let large = contract::group("large");
    store.create_group(t, &small, &ids[..2]).await.unwrap();
    store.create_group(t, &large, &ids[..58]).await.unwrap();

    let cost = |counter: &CallCounter| counter.take().values().sum::<u64>();
    counter.reset();
    store.create_user(t, &contract::user("one-more")).await.unwrap();
    assert_eq!(cost(&counter), 1, "create user = one transaction");
    store.user_by_user_name(t, "BUDGET-3").await.unwrap().unwrap();
    assert_eq!(cost(&counter), 2, "userName lookup = marker + user");
    store.get_user(t, &ids[0]).await.unwrap().unwrap();
    assert_eq!(cost(&counter), 1);
    let previous = users[5].clone();
    let mut next = previous.clone();
    next.version += 1;
    store.replace_user(t, &previous, &next).await.unwrap();
    assert_eq!(cost(&counter), 1, "replace without rename = one conditional put");
    for group in [&small, &large] {
        store.add_members(t, &group.id, &ids[59..60], None).await.unwrap();
        assert_eq!(cost(&counter), 1, "add one member = one transaction");
        store.remove_members(t, &group.id, &ids[59..60], None).await.unwrap();
        assert_eq!(cost(&counter), 1, "remove one member = one transaction");
        store
            .group_with_membership(t, &group.id, &ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cost(&counter), 1, "membership check = one batch get");
        store.get_group(t, &group.id).await.unwrap().unwrap();
        assert_eq!(cost(&counter), 1, "group without members = one get");
    }
    store.groups_by_display_name(t, "LARGE").await.unwrap();
    assert_eq!(cost(&counter), 1);
    store.scan_users(t, None, 50).await.unwrap();
    assert_eq!(cost(&counter), 1, "one page = one query");
}
