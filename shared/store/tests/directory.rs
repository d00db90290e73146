//! The DynamoDB directory store against moto through the real SDK: the shared storage contract (including its
//! concurrency checks), the tenant prefix of every key, and the DynamoDB-call budget of the operations the SCIM
//! fast paths rely on.
//!
//! wif-testkit's moto handles one request at a time (moto's own threaded server is not atomic under concurrent
//! transactions), so the concurrency checks test our conditional writes rather than moto's races.

use aws_sdk_dynamodb::types::AttributeValue;
use wif_scim::contract;
use wif_scim::store::{DirectoryError, DirectoryStore};
use wif_store::CallCounter;
use wif_store::TableNames;
use wif_store::directory::DynamoDirectory;
use wif_testkit::tables::create_tables;

async fn setup() -> (DynamoDirectory, aws_sdk_dynamodb::Client, String, CallCounter) {
    let counter = CallCounter::new();
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = counter.client(&config);
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
    store.create_user(&"tenant-x".into(), &user).await.unwrap();
    let group = contract::group("G");
    store
        .create_group(&"tenant-x".into(), &group, std::slice::from_ref(&user.id))
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
            .create_user(&"tenant-a".into(), &contract::user(&format!("a{i}")))
            .await
            .unwrap();
        store
            .create_user(&"tenant-b".into(), &contract::user(&format!("b{i}")))
            .await
            .unwrap();
    }
    let page_a = store.scan_users(&"tenant-a".into(), None, 1).await.unwrap();
    let cursor = page_a.next_cursor.expect("more pages");
    assert_eq!(
        store.scan_users(&"tenant-b".into(), Some(&cursor), 1).await,
        Err(DirectoryError::InvalidCursor),
        "a cursor of tenant A is refused for tenant B"
    );
    assert_eq!(
        store.scan_groups(&"tenant-a".into(), Some(&cursor), 1).await,
        Err(DirectoryError::InvalidCursor)
    );
}

/// The fast paths' DynamoDB budget: constant per operation whatever the group size.
#[tokio::test]
async fn operations_cost_a_constant_number_of_calls() {
    let (store, _, _, counter) = setup().await;
    let t = &wif_scim::store::TenantId::new("budget");
    let users: Vec<_> = (0..60).map(|i| contract::user(&format!("budget-{i}"))).collect();
    for u in &users {
        store.create_user(t, u).await.unwrap();
    }
    let ids: Vec<wif_scim::store::ResourceId> = users.iter().map(|u| u.id.clone()).collect();
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
