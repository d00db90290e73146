//! Deletes converge whatever fails and whenever (issue 13 §4): the DynamoDB fault proxy sits between the SDK and
//! moto and fails exactly one call between the steps of a delete; the delete answers an error, every read in
//! between shows a consistent directory (the resource still exists, both views of each membership agree, no new
//! membership can be written), and the retried delete finishes: no membership of the deleted user or group, no
//! orphaned userName marker, no item left in its partition.

use std::net::SocketAddr;

use aws_sdk_dynamodb::types::AttributeValue;
use wif_scim::contract::{group, user};
use wif_scim::store::{DirectoryError, DirectoryStore, GroupRecord, ResourceId, TenantId, UserRecord};
use wif_store::TableNames;
use wif_store::directory::DynamoDirectory;
use wif_testkit::fault_proxy::{Fault, FaultProxy, ProxyConfig, Rule};
use wif_testkit::tables::create_tables;

struct Setup {
    proxy: FaultProxy,
    store: DynamoDirectory,
    direct: aws_sdk_dynamodb::Client,
    table: String,
    tenant: TenantId,
}

impl Setup {
    /// The tenant's key prefix, which scopes the proxy's rules to this test.
    fn prefix(&self) -> String {
        format!("T#{}#", self.tenant.as_str())
    }

    /// Fails the `skip + 1`-th `operation` call of this test's tenant, once.
    fn fail(&self, operation: &str, skip: u64, fault: Fault) {
        self.proxy.rules().add(
            Rule::new(fault)
                .operation(operation)
                .body_contains(&self.prefix())
                .skip(skip)
                .times(1),
        );
    }

    /// Every item of this test's tenant, straight from moto.
    async fn items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let scan = self.direct.scan().table_name(&self.table).send().await.expect("scan");
        let prefix = self.prefix();
        scan.items
            .unwrap_or_default()
            .into_iter()
            .filter(|item| matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with(&prefix)))
            .collect()
    }

    async fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .items()
            .await
            .iter()
            .filter_map(|item| match item.get("type") {
                Some(AttributeValue::S(kind)) => Some(kind.clone()),
                _ => None,
            })
            .collect();
        kinds.sort();
        kinds
    }
}

/// A proxy in front of the test binary's moto; the store talks through it with the SDK's retries off (one attempt),
/// so one injected fault is one failed step.
async fn setup(name: &str, memberships_per_delete: Option<usize>) -> Setup {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let proxy = FaultProxy::start(ProxyConfig {
        listen: loopback,
        control: loopback,
        upstream: wif_testkit::shared_moto().endpoint().to_owned(),
        log_faults: false,
    })
    .await
    .expect("proxy starts");
    let direct = wif_testkit::dynamodb_client().await;
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&direct, &names).await.expect("create tables");
    let config = wif_testkit::sdk_config(&proxy.endpoint()).await;
    let config = config
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let mut store = DynamoDirectory::new(aws_sdk_dynamodb::Client::new(&config), &names.directory);
    if let Some(limit) = memberships_per_delete {
        store = store.with_memberships_per_delete(limit);
    }
    Setup {
        proxy,
        store,
        direct,
        table: names.directory,
        tenant: TenantId::new(format!("{name}-{}", wif_testkit::unique_prefix())),
    }
}

async fn users(s: &Setup, count: usize) -> Vec<UserRecord> {
    let mut users = Vec::new();
    for i in 0..count {
        let u = user(&format!("user-{i}@example.com"));
        s.store.create_user(&s.tenant, &u).await.expect("create user");
        users.push(u);
    }
    users
}

async fn group_of(s: &Setup, name: &str, members: &[ResourceId]) -> GroupRecord {
    let g = group(name);
    s.store
        .create_group(&s.tenant, &g, members)
        .await
        .expect("create group");
    g
}

async fn members(s: &Setup, g: &GroupRecord) -> Vec<ResourceId> {
    s.store
        .list_members(&s.tenant, &g.id, None, 10_000)
        .await
        .expect("members")
        .items
}

/// Both views of every membership agree: the group's members and the users' groups.
async fn assert_consistent(s: &Setup, groups: &[&GroupRecord], users: &[UserRecord]) {
    for u in users {
        let Some((_, of_user)) = s.store.user_with_groups(&s.tenant, &u.id).await.expect("read") else {
            continue;
        };
        for g in groups {
            let exists = s.store.get_group(&s.tenant, &g.id).await.expect("get").is_some();
            let listed = exists && members(s, g).await.contains(&u.id);
            assert_eq!(of_user.contains(&g.id), listed, "both views of {} in {}", u.id, g.id);
        }
    }
}

#[tokio::test]
async fn a_user_delete_that_fails_between_its_steps_is_finished_by_the_retry() {
    let s = setup("del-user", None).await;
    let people = users(&s, 2).await;
    let (alice, bob) = (&people[0], &people[1]);
    let g1 = group_of(&s, "one", &[alice.id.clone(), bob.id.clone()]).await;
    let g2 = group_of(&s, "two", std::slice::from_ref(&alice.id)).await;

    // Fails the finish transaction (the flag is set, memberships read): nothing is gone.
    s.fail("TransactWriteItems", 0, Fault::ServerError);
    let failed = s.store.delete_user(&s.tenant, &alice.id, None).await;
    assert!(matches!(failed, Err(DirectoryError::Unavailable(_))), "{failed:?}");
    let (_, groups) = s
        .store
        .user_with_groups(&s.tenant, &alice.id)
        .await
        .expect("read")
        .expect("the user still exists");
    assert_eq!(groups.len(), 2, "with both memberships");
    assert_consistent(&s, &[&g1, &g2], &people).await;
    let g3 = group_of(&s, "three", &[]).await;
    assert_eq!(
        s.store
            .add_members(&s.tenant, &g3.id, std::slice::from_ref(&alice.id), None)
            .await,
        Err(DirectoryError::MissingMember(alice.id.to_string())),
        "no membership of a user being deleted can appear"
    );

    // Fails the Query of its memberships on the next try.
    s.fail("Query", 0, Fault::ServerError);
    assert!(s.store.delete_user(&s.tenant, &alice.id, None).await.is_err());
    assert_consistent(&s, &[&g1, &g2], &people).await;

    s.store
        .delete_user(&s.tenant, &alice.id, None)
        .await
        .expect("the retried delete converges");
    assert_eq!(s.store.get_user(&s.tenant, &alice.id).await.expect("get"), None);
    assert_eq!(members(&s, &g1).await, vec![bob.id.clone()], "no member that is gone");
    assert!(members(&s, &g2).await.is_empty());
    assert_eq!(
        s.store
            .user_by_user_name(&s.tenant, &alice.user_name)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        s.kinds().await,
        [
            "Group",
            "Group",
            "Group",
            "MemberOf",
            "Membership",
            "User",
            "UserNameMarker"
        ],
        "bob, his marker and his membership in g1, the three groups: no orphaned marker or membership"
    );
    assert_eq!(
        s.store.delete_user(&s.tenant, &alice.id, None).await,
        Err(DirectoryError::NotFound)
    );
}

#[tokio::test]
async fn a_lost_answer_to_the_last_step_is_retried_by_the_sdk_idempotently() {
    let s = setup("del-lost", None).await;
    let people = users(&s, 1).await;
    let g = group_of(&s, "g", std::slice::from_ref(&people[0].id)).await;
    let retrying = DynamoDirectory::new(
        wif_store::dynamo::client_with(&wif_testkit::sdk_config(&s.proxy.endpoint()).await),
        &s.table,
    );
    // The finish transaction is applied, its answer lost; the SDK's retry (same ClientRequestToken) succeeds.
    s.fail("TransactWriteItems", 0, Fault::AppliedThenServerError);
    retrying
        .delete_user(&s.tenant, &people[0].id, None)
        .await
        .expect("converges within one DELETE");
    assert!(members(&s, &g).await.is_empty());
    assert_eq!(s.kinds().await, ["Group"]);
}

#[tokio::test]
async fn a_group_delete_that_fails_between_its_steps_is_finished_by_the_retry() {
    let s = setup("del-group", None).await;
    let people = users(&s, 60).await;
    let ids: Vec<ResourceId> = people.iter().map(|u| u.id.clone()).collect();
    let g = group_of(&s, "big", &ids).await;
    let other = group_of(&s, "other", &ids[..3]).await;

    // 60 members: one transaction of 11 pairs, then the finish with the last 49. Fail the first.
    s.fail("TransactWriteItems", 0, Fault::ServerError);
    assert!(s.store.delete_group(&s.tenant, &g.id, None).await.is_err());
    assert_eq!(members(&s, &g).await.len(), 60, "nothing removed yet");
    assert_consistent(&s, &[&g, &other], &people).await;
    assert_eq!(
        s.store.add_members(&s.tenant, &g.id, &ids[..1], None).await,
        Err(DirectoryError::NotFound),
        "a group being deleted takes no member"
    );

    // Fail the finish: the first 11 memberships are gone, consistently on both sides.
    s.fail("TransactWriteItems", 1, Fault::ServerError);
    assert!(s.store.delete_group(&s.tenant, &g.id, None).await.is_err());
    assert_eq!(members(&s, &g).await.len(), 49);
    assert_consistent(&s, &[&g, &other], &people).await;

    s.store
        .delete_group(&s.tenant, &g.id, None)
        .await
        .expect("the retried delete converges");
    assert_eq!(s.store.get_group(&s.tenant, &g.id).await.expect("get"), None);
    for u in &ids {
        let groups = s.store.groups_of_user(&s.tenant, u).await.expect("groups");
        assert!(!groups.contains(&g.id), "no user keeps the deleted group");
    }
    assert_eq!(members(&s, &other).await.len(), 3, "the other group is untouched");
    let memberships = s.kinds().await.iter().filter(|k| *k == "Membership").count();
    assert_eq!(memberships, 3);
}

#[tokio::test]
async fn a_large_group_is_deleted_over_several_bounded_deletes() {
    let s = setup("del-large", Some(20)).await;
    let people = users(&s, 45).await;
    let ids: Vec<ResourceId> = people.iter().map(|u| u.id.clone()).collect();
    let g = group_of(&s, "large", &ids).await;
    for left in [25, 5] {
        let step = s.store.delete_group(&s.tenant, &g.id, None).await;
        assert!(matches!(step, Err(DirectoryError::Unavailable(_))), "{step:?}");
        assert_eq!(members(&s, &g).await.len(), left, "20 memberships per DELETE");
        assert_consistent(&s, &[&g], &people).await;
    }
    s.store
        .delete_group(&s.tenant, &g.id, None)
        .await
        .expect("the third DELETE finishes");
    assert_eq!(s.store.get_group(&s.tenant, &g.id).await.expect("get"), None);
    assert!(!s.kinds().await.iter().any(|k| k == "Membership" || k == "MemberOf"));
}

#[tokio::test]
async fn a_write_between_the_steps_restarts_the_delete_or_refuses_a_pinned_one() {
    let s = setup("del-race", None).await;
    let people = users(&s, 1).await;
    let alice = &people[0];
    let g = group_of(&s, "g", std::slice::from_ref(&alice.id)).await;
    s.fail("TransactWriteItems", 0, Fault::ServerError);
    assert!(s.store.delete_user(&s.tenant, &alice.id, Some(1)).await.is_err());
    // A PATCH meanwhile rewrites the user (without the flag, at version 2).
    let mut patched = alice.clone();
    patched.version = 2;
    s.store.replace_user(&s.tenant, alice, &patched).await.expect("patch");
    assert_eq!(
        s.store.delete_user(&s.tenant, &alice.id, Some(1)).await,
        Err(DirectoryError::VersionConflict),
        "If-Match of the old version: 412"
    );
    s.store.delete_user(&s.tenant, &alice.id, None).await.expect("delete");
    assert!(members(&s, &g).await.is_empty());
    assert_eq!(s.kinds().await, ["Group"]);
}
