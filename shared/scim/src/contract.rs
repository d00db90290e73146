//! The storage contract every [`DirectoryStore`] must pass: one reusable suite, run against the in-memory store by
//! this crate's unit tests and against DynamoDB (moto) by wif-store's integration tests, so both backends keep the
//! same semantics. Each check works in tenants of its own, so the suite can share one store (and one table) with
//! other tests.
//!
//! Checks panic with a message naming the broken rule (this is test support code).

use serde_json::{Map, json};

use crate::store::{DirectoryError, DirectoryStore, GroupRecord, UserRecord, WriteKind};

fn tenant(label: &str) -> String {
    format!("contract-{label}-{}", uuid::Uuid::new_v4().simple())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A user record as the service would build it.
pub fn user(user_name: &str) -> UserRecord {
    let mut attributes = Map::new();
    attributes.insert("userName".into(), json!(user_name));
    attributes.insert("active".into(), json!(true));
    UserRecord {
        id: new_id(),
        version: 1,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        user_name: user_name.into(),
        external_id: None,
        work_email: None,
        attributes,
        password_hash: None,
        written_by: WriteKind::Create,
    }
}

pub fn group(display_name: &str) -> GroupRecord {
    let mut attributes = Map::new();
    attributes.insert("displayName".into(), json!(display_name));
    GroupRecord {
        id: new_id(),
        version: 1,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        display_name: display_name.into(),
        external_id: None,
        attributes,
        written_by: WriteKind::Create,
    }
}

fn bumped_user(previous: &UserRecord) -> UserRecord {
    let mut next = previous.clone();
    next.version = previous.version + 1;
    next.last_modified = "2026-01-02T00:00:00Z".into();
    next.written_by = WriteKind::Replace;
    next
}

/// Runs every check of the contract.
pub async fn run_all(store: &dyn DirectoryStore) {
    users_round_trip_and_isolation(store).await;
    user_name_is_unique_case_insensitively_per_tenant(store).await;
    replace_user_is_conditional_and_moves_the_marker(store).await;
    delete_user_removes_marker_and_memberships(store).await;
    user_lookups(store).await;
    scans_page_in_id_order(store).await;
    groups_round_trip_and_lookups(store).await;
    memberships(store).await;
    group_versions_guard_writes(store).await;
    delete_group_removes_memberships(store).await;
    concurrent_creates_of_one_user_name(store).await;
    concurrent_member_writers(store).await;
}

pub async fn users_round_trip_and_isolation(store: &dyn DirectoryStore) {
    let (a, b) = (tenant("a"), tenant("b"));
    let mut alice = user("alice@example.com");
    alice.external_id = Some("ext-1".into());
    alice.work_email = Some("Alice@Example.com".into());
    alice.password_hash = Some("$pbkdf2-sha256$i=1$c2FsdA$aGFzaA".into());
    alice
        .attributes
        .insert("name".into(), json!({"givenName": "Alice", "familyName": "Smith"}));
    store.create_user(&a, &alice).await.expect("create_user");
    let got = store.get_user(&a, &alice.id).await.expect("get_user");
    assert_eq!(got.as_ref(), Some(&alice), "a created user reads back unchanged");
    assert_eq!(
        store.get_user(&b, &alice.id).await.expect("get_user"),
        None,
        "tenant B cannot read A's user"
    );
    assert_eq!(store.get_user(&a, "no-such-id").await.expect("get_user"), None);
    assert_eq!(
        store.user_by_user_name(&b, "alice@example.com").await.expect("lookup"),
        None,
        "lookups are per tenant"
    );
    assert!(
        store
            .users_by_external_id(&b, "ext-1")
            .await
            .expect("lookup")
            .is_empty()
    );
    assert!(
        store
            .users_by_work_email(&b, "alice@example.com")
            .await
            .expect("lookup")
            .is_empty()
    );
    assert!(store.scan_users(&b, None, 10).await.expect("scan").items.is_empty());
    assert_eq!(
        store.delete_user(&b, &alice.id, None).await,
        Err(DirectoryError::NotFound),
        "tenant B cannot delete A's user"
    );
    assert_eq!(
        store.replace_user(&b, &alice, &bumped_user(&alice)).await,
        Err(DirectoryError::NotFound),
        "tenant B cannot replace A's user"
    );
    assert!(store.get_user(&a, &alice.id).await.expect("get_user").is_some());
}

pub async fn user_name_is_unique_case_insensitively_per_tenant(store: &dyn DirectoryStore) {
    let (a, b) = (tenant("a"), tenant("b"));
    store.create_user(&a, &user("Bob@Example.com")).await.expect("create");
    assert_eq!(
        store.create_user(&a, &user("bob@example.COM")).await,
        Err(DirectoryError::UserNameTaken),
        "userName uniqueness ignores case"
    );
    store
        .create_user(&b, &user("bob@example.com"))
        .await
        .expect("the same userName is free in another tenant");
    let found = store.user_by_user_name(&a, "BOB@EXAMPLE.COM").await.expect("lookup");
    assert_eq!(
        found.map(|u| u.user_name),
        Some("Bob@Example.com".to_owned()),
        "lookup ignores case"
    );
    assert_eq!(
        store.scan_users(&a, None, 10).await.expect("scan").items.len(),
        1,
        "a refused create wrote nothing"
    );
}

pub async fn replace_user_is_conditional_and_moves_the_marker(store: &dyn DirectoryStore) {
    let t = tenant("replace");
    let carol = user("carol");
    let dave = user("dave");
    store.create_user(&t, &carol).await.expect("create");
    store.create_user(&t, &dave).await.expect("create");

    let mut renamed = bumped_user(&carol);
    renamed.user_name = "caroline".into();
    renamed.attributes.insert("userName".into(), json!("caroline"));
    store.replace_user(&t, &carol, &renamed).await.expect("replace");
    assert_eq!(store.get_user(&t, &carol.id).await.expect("get"), Some(renamed.clone()));
    assert_eq!(
        store.user_by_user_name(&t, "carol").await.expect("lookup"),
        None,
        "the old name is released"
    );
    assert_eq!(
        store
            .user_by_user_name(&t, "CAROLINE")
            .await
            .expect("lookup")
            .map(|u| u.id),
        Some(carol.id.clone())
    );
    store
        .create_user(&t, &user("carol"))
        .await
        .expect("the released name can be taken again");

    // A writer that read version 1 loses against the write that made version 2.
    assert_eq!(
        store.replace_user(&t, &carol, &bumped_user(&carol)).await,
        Err(DirectoryError::VersionConflict),
        "a stale writer never overwrites"
    );

    let mut clash = bumped_user(&renamed);
    clash.user_name = "DAVE".into();
    assert_eq!(
        store.replace_user(&t, &renamed, &clash).await,
        Err(DirectoryError::UserNameTaken),
        "renaming onto a taken name fails"
    );
    assert_eq!(
        store.get_user(&t, &carol.id).await.expect("get"),
        Some(renamed.clone()),
        "and changes nothing"
    );

    // A change of case only keeps the marker.
    let mut recased = bumped_user(&renamed);
    recased.user_name = "Caroline".into();
    store
        .replace_user(&t, &renamed, &recased)
        .await
        .expect("case-only rename");
    assert_eq!(
        store
            .user_by_user_name(&t, "caroline")
            .await
            .expect("lookup")
            .map(|u| u.version),
        Some(3)
    );
    let ghost = user("ghost");
    assert_eq!(
        store.replace_user(&t, &ghost, &bumped_user(&ghost)).await,
        Err(DirectoryError::NotFound)
    );
}

pub async fn delete_user_removes_marker_and_memberships(store: &dyn DirectoryStore) {
    let t = tenant("delete-user");
    let erin = user("erin");
    store.create_user(&t, &erin).await.expect("create");
    let admins = group("admins");
    store
        .create_group(&t, &admins, std::slice::from_ref(&erin.id))
        .await
        .expect("create group");
    assert_eq!(
        store.delete_user(&t, &erin.id, Some(7)).await,
        Err(DirectoryError::VersionConflict),
        "delete honours the expected version"
    );
    store.delete_user(&t, &erin.id, Some(1)).await.expect("delete");
    assert_eq!(store.get_user(&t, &erin.id).await.expect("get"), None);
    assert_eq!(store.user_by_user_name(&t, "erin").await.expect("lookup"), None);
    assert!(store.groups_of_user(&t, &erin.id).await.expect("groups").is_empty());
    let members = store.list_members(&t, &admins.id, None, 10).await.expect("members");
    assert!(members.items.is_empty(), "deleting a user removes its memberships");
    assert_eq!(
        store.delete_user(&t, &erin.id, None).await,
        Err(DirectoryError::NotFound)
    );
    store
        .create_user(&t, &user("erin"))
        .await
        .expect("the name is free again");
}

pub async fn user_lookups(store: &dyn DirectoryStore) {
    let t = tenant("lookups");
    let mut frank = user("frank");
    frank.external_id = Some("EXT-F".into());
    frank.work_email = Some("Frank@Work.example".into());
    let mut grace = user("grace");
    grace.external_id = Some("ext-f".into());
    store.create_user(&t, &frank).await.expect("create");
    store.create_user(&t, &grace).await.expect("create");
    let by_ext = store.users_by_external_id(&t, "EXT-F").await.expect("lookup");
    assert_eq!(
        by_ext.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        vec![frank.id.as_str()],
        "externalId is exact"
    );
    let by_mail = store
        .users_by_work_email(&t, "frank@WORK.example")
        .await
        .expect("lookup");
    assert_eq!(by_mail.len(), 1, "work e-mail lookup ignores case");
    assert_eq!(by_mail[0].id, frank.id);
    assert!(
        store
            .users_by_work_email(&t, "nobody@work.example")
            .await
            .expect("lookup")
            .is_empty()
    );
    assert!(
        store.user_by_user_name(&t, "fran").await.expect("lookup").is_none(),
        "no prefix matching"
    );

    // Changing the indexed attributes moves the index entries.
    let mut changed = bumped_user(&frank);
    changed.external_id = Some("EXT-NEW".into());
    changed.work_email = None;
    store.replace_user(&t, &frank, &changed).await.expect("replace");
    assert!(
        store
            .users_by_external_id(&t, "EXT-F")
            .await
            .expect("lookup")
            .is_empty()
    );
    assert_eq!(
        store.users_by_external_id(&t, "EXT-NEW").await.expect("lookup").len(),
        1
    );
    assert!(
        store
            .users_by_work_email(&t, "frank@work.example")
            .await
            .expect("lookup")
            .is_empty()
    );
}

pub async fn scans_page_in_id_order(store: &dyn DirectoryStore) {
    let t = tenant("scan");
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = user(&format!("scan-user-{i}"));
        ids.push(u.id.clone());
        store.create_user(&t, &u).await.expect("create");
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.scan_users(&t, cursor.as_deref(), 3).await.expect("scan");
        assert!(page.items.len() <= 3, "a page never exceeds its limit");
        seen.extend(page.items.into_iter().map(|u| u.id));
        pages += 1;
        assert!(pages < 10, "scan terminates");
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids, "a scan returns every user once, in ascending id order");
    assert_eq!(
        store.scan_users(&t, Some("definitely not a cursor!"), 3).await,
        Err(DirectoryError::InvalidCursor)
    );

    let g = tenant("scan-groups");
    let mut group_ids = Vec::new();
    for i in 0..4 {
        let gr = group(&format!("group-{i}"));
        group_ids.push(gr.id.clone());
        store.create_group(&g, &gr, &[]).await.expect("create group");
    }
    group_ids.sort();
    let first = store.scan_groups(&g, None, 2).await.expect("scan groups");
    let second = store
        .scan_groups(&g, first.next_cursor.as_deref(), 10)
        .await
        .expect("scan groups");
    let all: Vec<String> = first.items.into_iter().chain(second.items).map(|g| g.id).collect();
    assert_eq!(all, group_ids);
    assert_eq!(second.next_cursor, None);
    assert!(
        store.scan_groups(&t, None, 10).await.expect("scan").items.is_empty(),
        "groups are per tenant"
    );
}

pub async fn groups_round_trip_and_lookups(store: &dyn DirectoryStore) {
    let (t, other) = (tenant("groups"), tenant("groups-other"));
    let mut sales = group("Sales");
    sales.external_id = Some("g-ext".into());
    sales.attributes.insert("externalId".into(), json!("g-ext"));
    store.create_group(&t, &sales, &[]).await.expect("create group");
    assert_eq!(store.get_group(&t, &sales.id).await.expect("get"), Some(sales.clone()));
    assert_eq!(
        store.get_group(&other, &sales.id).await.expect("get"),
        None,
        "tenant isolation"
    );
    let by_name = store.groups_by_display_name(&t, "SALES").await.expect("lookup");
    assert_eq!(by_name, vec![sales.clone()], "displayName lookup ignores case");
    assert!(
        store
            .groups_by_display_name(&other, "Sales")
            .await
            .expect("lookup")
            .is_empty()
    );
    assert_eq!(
        store.groups_by_external_id(&t, "g-ext").await.expect("lookup"),
        vec![sales.clone()]
    );
    assert!(
        store
            .groups_by_external_id(&t, "G-EXT")
            .await
            .expect("lookup")
            .is_empty()
    );

    // displayName is not unique.
    let twin = group("sales");
    store
        .create_group(&t, &twin, &[])
        .await
        .expect("a second group of the same name");
    assert_eq!(
        store.groups_by_display_name(&t, "Sales").await.expect("lookup").len(),
        2
    );

    let mut renamed = sales.clone();
    renamed.version = 2;
    renamed.display_name = "Sales EMEA".into();
    store.replace_group(&t, &sales, &renamed).await.expect("rename");
    assert_eq!(
        store.groups_by_display_name(&t, "sales").await.expect("lookup").len(),
        1,
        "rename moves the index"
    );
    assert_eq!(
        store.groups_by_display_name(&t, "sales emea").await.expect("lookup"),
        vec![renamed.clone()]
    );
    let fetched = store
        .get_groups(&t, &[twin.id.clone(), "missing".into(), sales.id.clone()])
        .await
        .expect("get_groups");
    let mut expected = vec![renamed.clone(), twin.clone()];
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(fetched, expected, "get_groups skips missing ids and sorts by id");
    assert!(
        store
            .get_groups(&other, std::slice::from_ref(&twin.id))
            .await
            .expect("get_groups")
            .is_empty()
    );
}

pub async fn memberships(store: &dyn DirectoryStore) {
    let (t, other) = (tenant("members"), tenant("members-other"));
    let users: Vec<UserRecord> = (0..5).map(|i| user(&format!("member-{i}"))).collect();
    for u in &users {
        store.create_user(&t, u).await.expect("create");
    }
    let stranger = user("stranger");
    store
        .create_user(&other, &stranger)
        .await
        .expect("create in other tenant");
    let mut ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    ids.sort();

    let eng = group("Engineering");
    assert_eq!(
        store
            .create_group(&t, &eng, &[ids[0].clone(), stranger.id.clone()])
            .await,
        Err(DirectoryError::MissingMember(stranger.id.clone())),
        "a member must be a user of the same tenant"
    );
    assert_eq!(
        store.get_group(&t, &eng.id).await.expect("get"),
        None,
        "a refused create writes nothing"
    );
    store
        .create_group(&t, &eng, &ids[..2])
        .await
        .expect("create with members");

    let (fetched, page) = store
        .get_group_with_members(&t, &eng.id, 10)
        .await
        .expect("get with members")
        .expect("exists");
    assert_eq!(fetched, eng);
    assert_eq!(page.items, ids[..2].to_vec());
    assert_eq!(page.next_cursor, None);

    store.add_members(&t, &eng.id, &ids[1..4], None).await.expect("add");
    store
        .add_members(&t, &eng.id, &ids[1..2], None)
        .await
        .expect("adding an existing member is idempotent");
    let all = store.list_members(&t, &eng.id, None, 100).await.expect("list");
    assert_eq!(all.items, ids[..4].to_vec());

    // Paging through members.
    let (_, first) = store
        .get_group_with_members(&t, &eng.id, 3)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(first.items, ids[..3].to_vec());
    let rest = store
        .list_members(&t, &eng.id, first.next_cursor.as_deref(), 3)
        .await
        .expect("next page");
    assert_eq!(rest.items, ids[3..4].to_vec());
    assert_eq!(rest.next_cursor, None);

    assert_eq!(
        store
            .add_members(&t, &eng.id, std::slice::from_ref(&stranger.id), None)
            .await,
        Err(DirectoryError::MissingMember(stranger.id.clone()))
    );
    assert_eq!(
        store.add_members(&t, "no-such-group", &ids[..1], None).await,
        Err(DirectoryError::NotFound)
    );
    assert_eq!(
        store
            .add_members(&other, &eng.id, std::slice::from_ref(&stranger.id), None)
            .await,
        Err(DirectoryError::NotFound),
        "another tenant cannot add to the group"
    );
    assert_eq!(
        store.list_members(&other, &eng.id, None, 10).await,
        Err(DirectoryError::NotFound),
        "another tenant cannot list its members"
    );

    let (_, is_member) = store
        .group_with_membership(&t, &eng.id, &ids[2])
        .await
        .expect("check")
        .expect("exists");
    assert!(is_member);
    let (_, is_member) = store
        .group_with_membership(&t, &eng.id, &ids[4])
        .await
        .expect("check")
        .expect("exists");
    assert!(!is_member);
    assert_eq!(
        store
            .group_with_membership(&other, &eng.id, &ids[2])
            .await
            .expect("check"),
        None
    );
    assert_eq!(
        store.groups_of_user(&t, &ids[0]).await.expect("groups"),
        vec![eng.id.clone()]
    );

    // Removing removes exactly the listed members.
    store
        .remove_members(&t, &eng.id, &[ids[1].clone(), ids[4].clone()], None)
        .await
        .expect("remove");
    let left = store.list_members(&t, &eng.id, None, 100).await.expect("list");
    assert_eq!(left.items, vec![ids[0].clone(), ids[2].clone(), ids[3].clone()]);
    assert!(store.groups_of_user(&t, &ids[1]).await.expect("groups").is_empty());

    store.remove_all_members(&t, &eng.id, None).await.expect("remove all");
    assert!(
        store
            .list_members(&t, &eng.id, None, 100)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(store.groups_of_user(&t, &ids[0]).await.expect("groups").is_empty());
    assert_eq!(
        store.get_group(&t, &eng.id).await.expect("get"),
        Some(eng.clone()),
        "the group itself stays"
    );
}

pub async fn group_versions_guard_writes(store: &dyn DirectoryStore) {
    let t = tenant("group-versions");
    let u = user("versioned-member");
    store.create_user(&t, &u).await.expect("create");
    let ops = group("Ops");
    store.create_group(&t, &ops, &[]).await.expect("create");
    let mut v2 = ops.clone();
    v2.version = 2;
    v2.display_name = "Ops 2".into();
    store.replace_group(&t, &ops, &v2).await.expect("replace");
    assert_eq!(
        store.replace_group(&t, &ops, &v2).await,
        Err(DirectoryError::VersionConflict),
        "a stale group writer loses"
    );
    assert_eq!(
        store
            .add_members(&t, &ops.id, std::slice::from_ref(&u.id), Some(1))
            .await,
        Err(DirectoryError::VersionConflict),
        "member writes honour If-Match"
    );
    store
        .add_members(&t, &ops.id, std::slice::from_ref(&u.id), Some(2))
        .await
        .expect("matching version");
    assert_eq!(
        store
            .remove_members(&t, &ops.id, std::slice::from_ref(&u.id), Some(1))
            .await,
        Err(DirectoryError::VersionConflict)
    );
    assert_eq!(
        store.remove_all_members(&t, &ops.id, Some(1)).await,
        Err(DirectoryError::VersionConflict)
    );
    assert_eq!(
        store.delete_group(&t, &ops.id, Some(1)).await,
        Err(DirectoryError::VersionConflict)
    );
    let ghost = group("ghost");
    assert_eq!(
        store.replace_group(&t, &ghost, &ghost).await,
        Err(DirectoryError::NotFound)
    );
}

pub async fn delete_group_removes_memberships(store: &dyn DirectoryStore) {
    let t = tenant("delete-group");
    let u = user("loyal");
    store.create_user(&t, &u).await.expect("create");
    let keep = group("keep");
    let doomed = group("doomed");
    store
        .create_group(&t, &keep, std::slice::from_ref(&u.id))
        .await
        .expect("create");
    store
        .create_group(&t, &doomed, std::slice::from_ref(&u.id))
        .await
        .expect("create");
    store.delete_group(&t, &doomed.id, Some(1)).await.expect("delete");
    assert_eq!(store.get_group(&t, &doomed.id).await.expect("get"), None);
    assert_eq!(
        store.groups_of_user(&t, &u.id).await.expect("groups"),
        vec![keep.id.clone()]
    );
    assert_eq!(
        store.delete_group(&t, &doomed.id, None).await,
        Err(DirectoryError::NotFound)
    );
    assert_eq!(
        store.list_members(&t, &doomed.id, None, 10).await,
        Err(DirectoryError::NotFound)
    );
}

/// 20 simultaneous creates of one userName (different cases): exactly one wins, the others see `UserNameTaken`.
pub async fn concurrent_creates_of_one_user_name(store: &dyn DirectoryStore) {
    let t = tenant("race-create");
    let attempts: Vec<UserRecord> = (0..20)
        .map(|i| {
            user(if i % 2 == 0 {
                "racer@example.com"
            } else {
                "RACER@example.com"
            })
        })
        .collect();
    let results = futures::future::join_all(attempts.iter().map(|u| store.create_user(&t, u))).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(DirectoryError::UserNameTaken)))
        .count();
    assert_eq!((wins, taken), (1, 19), "exactly one create wins: {results:?}");
    assert_eq!(store.scan_users(&t, None, 100).await.expect("scan").items.len(), 1);
}

/// 20 simultaneous writers on one group, each adding its own new member and removing its own old one.
pub async fn concurrent_member_writers(store: &dyn DirectoryStore) {
    let t = tenant("race-members");
    let adds: Vec<UserRecord> = (0..20).map(|i| user(&format!("add-{i}"))).collect();
    let removes: Vec<UserRecord> = (0..20).map(|i| user(&format!("remove-{i}"))).collect();
    for u in adds.iter().chain(&removes) {
        store.create_user(&t, u).await.expect("create");
    }
    let g = group("busy");
    let initial: Vec<String> = removes.iter().map(|u| u.id.clone()).collect();
    store.create_group(&t, &g, &initial).await.expect("create group");
    let writers = adds.iter().zip(&removes).map(|(add, remove)| {
        let (t, g) = (&t, &g);
        async move {
            store.add_members(t, &g.id, std::slice::from_ref(&add.id), None).await?;
            store
                .remove_members(t, &g.id, std::slice::from_ref(&remove.id), None)
                .await
        }
    });
    let results = futures::future::join_all(writers).await;
    assert!(
        results.iter().all(Result::is_ok),
        "every member writer succeeds: {results:?}"
    );
    let mut expected: Vec<String> = adds.iter().map(|u| u.id.clone()).collect();
    expected.sort();
    let members = store.list_members(&t, &g.id, None, 100).await.expect("list");
    assert_eq!(
        members.items, expected,
        "the final membership is exactly the added members"
    );
}
