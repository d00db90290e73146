//! Through the running local stack: 20 parallel creates of one userName → exactly one 201, the rest 409; 20 clients
//! adding and removing distinct members of one group in parallel → the final membership is exactly as expected.

use e2e_tests::scim::{patch, stack, unique};
use serde_json::json;

#[tokio::test]
async fn parallel_creates_of_one_user_name() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let name = format!("{}@race.example", unique("racer"));
    let attempts = (0..20).map(|i| {
        let body = json!({"userName": if i % 2 == 0 { name.clone() } else { name.to_uppercase() }});
        let (stack, token) = (&stack, &token);
        async move { stack.scim(token, "POST", "/Users", Some(&body)).await }
    });
    let replies = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    assert!(
        replies
            .iter()
            .filter(|r| r.status == 409)
            .all(|r| r.body["scimType"] == "uniqueness")
    );
    let winner = replies.iter().find(|r| r.status == 201).expect("one winner");
    let id = winner.body["id"].as_str().expect("id");
    assert_eq!(
        stack.scim(&token, "DELETE", &format!("/Users/{id}"), None).await.status,
        204
    );
}

#[tokio::test]
async fn parallel_member_writers_on_one_group() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let mut users = Vec::new();
    for i in 0..40 {
        let reply = stack
            .scim(
                &token,
                "POST",
                "/Users",
                Some(&json!({"userName": unique(&format!("m{i}"))})),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        users.push(reply.body["id"].as_str().expect("id").to_owned());
    }
    let (adds, removes) = users.split_at(20);
    let initial: Vec<_> = removes.iter().map(|id| json!({"value": id})).collect();
    let reply = stack
        .scim(
            &token,
            "POST",
            "/Groups",
            Some(&json!({"displayName": unique("busy"), "members": initial})),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let gid = reply.body["id"].as_str().expect("id").to_owned();
    let writers = adds.iter().zip(removes).enumerate().map(|(i, (add, remove))| {
        let (stack, token, gid) = (&stack, &token, &gid);
        // Half the writers remove with a value list, half with a value filter (Entra's two shapes).
        let removal = if i % 2 == 0 {
            json!({"op": "Remove", "path": "members", "value": [{"value": remove}]})
        } else {
            json!({"op": "Remove", "path": format!("members[value eq \"{remove}\"]")})
        };
        let body = patch(json!([{"op": "Add", "path": "members", "value": [{"value": add}]}, removal]));
        async move {
            stack
                .scim(token, "PATCH", &format!("/Groups/{gid}"), Some(&body))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(writers).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let group = stack.scim(&token, "GET", &format!("/Groups/{gid}"), None).await;
    let mut members: Vec<String> = group.body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    let mut expected = adds.to_vec();
    expected.sort();
    assert_eq!(members, expected, "exactly the added members remain");
    assert_eq!(
        stack
            .scim(&token, "DELETE", &format!("/Groups/{gid}"), None)
            .await
            .status,
        204
    );
    for id in &users {
        stack.scim(&token, "DELETE", &format!("/Users/{id}"), None).await;
    }
}
