//! The one-off membership migration against moto: membership items in the old shape (gsi1 `T#t#UG#<uid>`, no
//! group-of-user item), written straight through the SDK as the previous release wrote them, are migrated in
//! resumable slices; afterwards users' groups, pages of users' groups and user deletes see them, orphaned
//! memberships (of a user or group that no longer exists) are gone, and a rerun changes nothing.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use wif_scim::contract::{group, user};
use wif_scim::store::{DirectoryStore, ResourceId, TenantId};
use wif_store::TableNames;
use wif_store::directory::DynamoDirectory;
use wif_store::directory::migration::MembershipMigration;
use wif_testkit::tables::create_tables;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A membership item exactly as the release before group-of-user items wrote it.
fn old_membership(tenant: &str, group: &ResourceId, user: &ResourceId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(&format!("T#{tenant}#G#{group}"))),
        ("sk".to_owned(), s(&format!("M#{user}"))),
        ("type".to_owned(), s("Membership")),
        ("group_id".to_owned(), s(group.as_str())),
        ("user_id".to_owned(), s(user.as_str())),
        ("gsi1pk".to_owned(), s(&format!("T#{tenant}#UG#{user}"))),
        ("gsi1sk".to_owned(), s(group.as_str())),
    ])
}

async fn run_to_the_end(store: &DynamoDirectory, slice: usize) -> (MembershipMigration, usize) {
    let mut total = MembershipMigration::default();
    let mut calls = 0;
    let mut cursor: Option<String> = None;
    loop {
        let step = store
            .migrate_memberships(cursor.as_deref(), slice)
            .await
            .expect("migrate");
        calls += 1;
        total.examined += step.examined;
        total.migrated += step.migrated;
        total.orphans_removed += step.orphans_removed;
        total.skipped += step.skipped;
        cursor = step.next_cursor;
        if cursor.is_none() {
            return (total, calls);
        }
    }
}

#[tokio::test]
async fn old_memberships_are_migrated_resumably_and_orphans_removed() {
    let client = wif_testkit::dynamodb_client().await;
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    let store = DynamoDirectory::new(client.clone(), &names.directory);
    let tenant_name = "migrated";
    let t = TenantId::new(tenant_name);
    let (alice, bob) = (user("alice@example.com"), user("bob@example.com"));
    for u in [&alice, &bob] {
        store.create_user(&t, u).await.expect("create user");
    }
    let (sales, ops) = (group("Sales"), group("Ops"));
    for g in [&sales, &ops] {
        store.create_group(&t, g, &[]).await.expect("create group");
    }
    let ghost_user = ResourceId::new("deleted-user");
    let ghost_group = ResourceId::new("deleted-group");
    let old = [
        (&sales.id, &alice.id),
        (&sales.id, &bob.id),
        (&ops.id, &alice.id),
        (&sales.id, &ghost_user),
        (&ghost_group, &bob.id),
    ];
    for (g, u) in old {
        client
            .put_item()
            .table_name(&names.directory)
            .set_item(Some(old_membership(tenant_name, g, u)))
            .send()
            .await
            .expect("write an old-shape membership");
    }
    assert!(
        store.groups_of_user(&t, &alice.id).await.expect("groups").is_empty(),
        "before the migration the user's partition does not know its groups"
    );

    let (report, calls) = run_to_the_end(&store, 3).await;
    assert!(calls > 2, "small slices resume from the cursor ({calls} calls)");
    assert_eq!((report.migrated, report.orphans_removed, report.skipped), (3, 2, 0));

    let mut alice_groups = vec![sales.id.clone(), ops.id.clone()];
    alice_groups.sort();
    assert_eq!(store.groups_of_user(&t, &alice.id).await.expect("groups"), alice_groups);
    let (_, groups) = store
        .user_by_user_name_with_groups(&t, "ALICE@example.com")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(groups, alice_groups);
    let page = store
        .groups_of_users(&t, &[alice.id.clone(), bob.id.clone()])
        .await
        .expect("page");
    assert_eq!(page.get(&bob.id), Some(&vec![sales.id.clone()]));
    let mut sales_members = vec![alice.id.clone(), bob.id.clone()];
    sales_members.sort();
    let listed = store.list_members(&t, &sales.id, None, 10).await.expect("members");
    assert_eq!(listed.items, sales_members, "the orphan of a deleted user is gone");
    let scan = client.scan().table_name(&names.directory).send().await.expect("scan");
    let items = scan.items.unwrap_or_default();
    assert!(
        items
            .iter()
            .filter(|i| i.get("type") == Some(&s("Membership")))
            .all(|i| !i.contains_key("gsi1pk")),
        "no membership keeps the old index key"
    );
    assert!(
        !items.iter().any(|i| i.get("group_id") == Some(&s("deleted-group"))),
        "the orphan of a deleted group is gone"
    );

    let (rerun, _) = run_to_the_end(&store, 100).await;
    assert_eq!((rerun.migrated, rerun.orphans_removed), (0, 0), "idempotent");

    store.delete_user(&t, &alice.id, None).await.expect("delete");
    assert_eq!(
        store
            .list_members(&t, &sales.id, None, 10)
            .await
            .expect("members")
            .items,
        vec![bob.id.clone()],
        "a migrated membership goes with its user"
    );
    assert!(
        store
            .list_members(&t, &ops.id, None, 10)
            .await
            .expect("members")
            .items
            .is_empty()
    );
}
