//! Store pages that DynamoDB cuts short. A Query answer ends at 1 MB whatever its Limit, with a LastEvaluatedKey;
//! the store must follow it, or every list of a tenant whose users outgrow 1 MB silently stops there (seen end to
//! end through the local stack: 775 of 1,000 provisioned users listed, `totalResults` 775).

use std::collections::BTreeSet;

use serde_json::json;
use wif_scim::contract;
use wif_scim::store::DirectoryStore;
use wif_store::TableNames;
use wif_store::directory::DynamoDirectory;
use wif_testkit::tables::create_tables;

const USERS: usize = 50;

#[tokio::test]
async fn user_pages_larger_than_one_megabyte_are_complete() {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    let store = DynamoDirectory::new(client, &names.directory);
    // 50 users of 30 KB each: 1.5 MB, more than one DynamoDB page.
    let padding = "x".repeat(30_000);
    let mut ids = BTreeSet::new();
    for i in 0..USERS {
        let mut user = contract::user(&format!("big-{i}@example.com"));
        user.attributes.insert("title".into(), json!(padding));
        ids.insert(user.id.clone());
        store.create_user(&"tenant".into(), &user).await.expect("create user");
    }

    let all = store.scan_users(&"tenant".into(), None, 1_000).await.expect("scan");
    assert_eq!(all.items.len(), USERS, "one store page of up to 1,000 users");
    assert!(all.next_cursor.is_none());

    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store
            .scan_users(&"tenant".into(), cursor.as_deref(), 20)
            .await
            .expect("scan page");
        pages += 1;
        assert!(page.items.len() <= 20);
        seen.extend(page.items.iter().map(|u| u.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids, "pages of 20 cover every user exactly");
    assert_eq!(pages, 3);
}
