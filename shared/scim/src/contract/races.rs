//! Concurrent writers: one userName created by many at once, many member writers on one group.

use super::{group, tenant, user};
use crate::store::{DirectoryError, DirectoryStore, ResourceId, UserRecord};

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
    let initial: Vec<ResourceId> = removes.iter().map(|u| u.id.clone()).collect();
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
    let mut expected: Vec<ResourceId> = adds.iter().map(|u| u.id.clone()).collect();
    expected.sort();
    let members = store.list_members(&t, &g.id, None, 100).await.expect("list");
    assert_eq!(
        members.items, expected,
        "the final membership is exactly the added members"
    );
}
