//! Users: round trips and tenant isolation, userName uniqueness, conditional replaces, deletes, the lookups, scans.

use serde_json::json;

use super::{bumped_user, group, tenant, user};
use crate::store::{DirectoryError, DirectoryStore, ResourceId};

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
    assert_eq!(
        store
            .get_user(&a, &ResourceId::new("no-such-id"))
            .await
            .expect("get_user"),
        None
    );
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
    let all: Vec<ResourceId> = first.items.into_iter().chain(second.items).map(|g| g.id).collect();
    assert_eq!(all, group_ids);
    assert_eq!(second.next_cursor, None);
    assert!(
        store.scan_groups(&t, None, 10).await.expect("scan").items.is_empty(),
        "groups are per tenant"
    );
}
