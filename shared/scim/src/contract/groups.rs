//! Groups: round trips and lookups, memberships (one record each), versions guarding writes, deletes.

use serde_json::json;

use super::{group, tenant, user};
use crate::store::{DirectoryError, DirectoryStore, GroupRecord, ResourceId, TenantId, UserRecord};

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
        .get_groups(&t, &[twin.id.clone(), ResourceId::new("missing"), sales.id.clone()])
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

/// A tenant with five users, a group "Engineering" holding the first two (ids ascending), and a user of another
/// tenant: what the membership checks share (each takes its own copy).
#[derive(Clone)]
struct Membership {
    t: TenantId,
    other: TenantId,
    eng: GroupRecord,
    ids: Vec<ResourceId>,
    stranger: UserRecord,
}

pub async fn memberships(store: &dyn DirectoryStore) {
    let fixture = membership_setup(store).await;
    members_are_added_idempotently_and_paged(store, &fixture).await;
    users_are_read_with_their_groups(store, &fixture).await;
    foreign_members_and_tenants_are_refused(store, &fixture).await;
    membership_is_checked_one_user_at_a_time(store, &fixture).await;
    members_are_removed_exactly(store, &fixture).await;
}

/// Creates the group of [`Membership`], checking on the way that a member must be a user of the group's tenant.
async fn membership_setup(store: &dyn DirectoryStore) -> Membership {
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
    let mut ids: Vec<ResourceId> = users.iter().map(|u| u.id.clone()).collect();
    ids.sort();

    let eng = group("Engineering");
    assert_eq!(
        store
            .create_group(&t, &eng, &[ids[0].clone(), stranger.id.clone()])
            .await,
        Err(DirectoryError::MissingMember(stranger.id.to_string())),
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
    Membership {
        t,
        other,
        eng,
        ids,
        stranger,
    }
}

async fn members_are_added_idempotently_and_paged(store: &dyn DirectoryStore, fixture: &Membership) {
    let Membership { t, eng, ids, .. } = fixture.clone();
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
}

/// A user read with its groups, one user by id or userName or the users of a page, agrees with `groups_of_user`.
async fn users_are_read_with_their_groups(store: &dyn DirectoryStore, fixture: &Membership) {
    let Membership { t, other, eng, ids, .. } = fixture.clone();
    let ops = group("Ops");
    store.create_group(&t, &ops, &ids[1..2]).await.expect("create");
    let mut both = vec![eng.id.clone(), ops.id.clone()];
    both.sort();
    let (user, groups) = store
        .user_with_groups(&t, &ids[1])
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((user.id.clone(), groups), (ids[1].clone(), both.clone()));
    assert_eq!(store.groups_of_user(&t, &ids[1]).await.expect("groups"), both);
    let (_, groups) = store
        .user_with_groups(&t, &ids[4])
        .await
        .expect("read")
        .expect("exists");
    assert!(groups.is_empty(), "a user in no group");
    assert_eq!(
        store.user_with_groups(&other, &ids[1]).await.expect("read"),
        None,
        "tenant isolation"
    );
    let by_name = store
        .user_by_user_name_with_groups(&t, &user.user_name.to_uppercase())
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!((by_name.0.id, by_name.1), (ids[1].clone(), both.clone()));
    let page = store.groups_of_users(&t, &ids).await.expect("page");
    for id in &ids {
        let expected = store.groups_of_user(&t, id).await.expect("groups");
        assert_eq!(
            page.get(id).cloned().unwrap_or_default(),
            expected,
            "groups of {id} in a page"
        );
    }
    let foreign = store.groups_of_users(&other, &ids).await.expect("page");
    assert!(foreign.values().all(Vec::is_empty), "tenant isolation of a page");
    store.delete_group(&t, &ops.id, None).await.expect("delete");
    assert_eq!(
        store.groups_of_user(&t, &ids[1]).await.expect("groups"),
        vec![eng.id.clone()],
        "a deleted group leaves its members' groups"
    );
}

async fn foreign_members_and_tenants_are_refused(store: &dyn DirectoryStore, fixture: &Membership) {
    let Membership {
        t,
        other,
        eng,
        ids,
        stranger,
    } = fixture.clone();
    assert_eq!(
        store
            .add_members(&t, &eng.id, std::slice::from_ref(&stranger.id), None)
            .await,
        Err(DirectoryError::MissingMember(stranger.id.to_string()))
    );
    assert_eq!(
        store
            .add_members(&t, &ResourceId::new("no-such-group"), &ids[..1], None)
            .await,
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
}

async fn membership_is_checked_one_user_at_a_time(store: &dyn DirectoryStore, fixture: &Membership) {
    let Membership { t, other, eng, ids, .. } = fixture.clone();
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
}

async fn members_are_removed_exactly(store: &dyn DirectoryStore, fixture: &Membership) {
    let Membership { t, eng, ids, .. } = fixture.clone();
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
