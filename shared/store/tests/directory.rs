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
    assert_eq!(
        items.len(),
        5,
        "user, marker, group, membership and its group-of-user item"
    );
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
    let (_, groups) = store.user_with_groups(t, &ids[1]).await.unwrap().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(cost(&counter), 1, "a user with its groups = one query of its partition");
    store
        .user_by_user_name_with_groups(t, "BUDGET-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cost(&counter),
        2,
        "userName lookup with groups = marker + user partition"
    );
    let page = store.groups_of_users(t, &ids[..50]).await.unwrap();
    assert_eq!(page.values().map(Vec::len).sum::<usize>(), 2 * 2 + 48);
    assert_eq!(cost(&counter), 1, "the groups of a page of 50 users = one range query");
    store.delete_user(t, &ids[1], None).await.unwrap();
    assert_eq!(
        cost(&counter),
        3,
        "delete a user of 2 groups = flag, query, one transaction"
    );
    store.delete_group(t, &small.id, None).await.unwrap();
    assert_eq!(cost(&counter), 3, "delete a group of 1 = flag, query, one transaction");
}

/// A member id no user of ours can have (ids are UUIDs) is the client's error: 400 `invalidValue` for writes, no
/// match for Entra's membership check; never DynamoDB's key-size failure (503).
#[tokio::test]
async fn oversized_member_ids_are_a_400_not_a_storage_failure() {
    use std::sync::Arc;
    use wif_scim::schema::ResourceKind;
    use wif_scim::service::{Caller, DirectoryService, ListQuery, Projection, RequestContext, ServiceConfig};

    let (store, _, _, _) = setup().await;
    let service = DirectoryService::new(
        Arc::new(store),
        Arc::new(wif_common::audit::LogOnlyAudit),
        Arc::new(wif_common::FixedClock::at(1_767_225_600)),
        ServiceConfig::default(),
    );
    let ctx = RequestContext {
        caller: Caller {
            tenant_id: "t1".into(),
            client_id: "c1".into(),
            can_write: true,
        },
        base_url: "https://scim.example.com/scim/v2".into(),
        request_id: None,
    };
    let all = Projection::default();
    let group = service
        .create(&ctx, ResourceKind::Group, serde_json::json!({"displayName": "G"}), &all)
        .await
        .unwrap();
    let group_id = wif_common::ResourceId::new(group.body["id"].as_str().unwrap().to_owned());
    let long_id = "u".repeat(2_000);
    let op = |op: &str, value: serde_json::Value| {
        serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": "members", "value": value}]})
    };
    for body in [
        op("add", serde_json::json!([{"value": long_id}])),
        op("remove", serde_json::json!([{"value": long_id}])),
        op("replace", serde_json::json!([{"value": long_id}])),
    ] {
        let err = service
            .patch(&ctx, ResourceKind::Group, &group_id, &body, None, &all)
            .await
            .unwrap_err();
        assert_eq!(
            (err.status, err.scim_type.map(|t| t.as_str())),
            (400, Some("invalidValue")),
            "{err:?}"
        );
    }
    let created = service
        .create(
            &ctx,
            ResourceKind::Group,
            serde_json::json!({"displayName": "H", "members": [{"value": long_id}]}),
            &all,
        )
        .await
        .unwrap_err();
    assert_eq!(created.status, 400, "{created:?}");
    let query = ListQuery {
        filter: Some(format!("id eq \"{group_id}\" and members eq \"{long_id}\"")),
        ..ListQuery::default()
    };
    let found = service.list(&ctx, Some(ResourceKind::Group), &query).await.unwrap();
    assert_eq!(found["totalResults"], 0);
}
