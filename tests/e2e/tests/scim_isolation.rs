//! Through the running local stack: a token of one ISV tenant never sees another tenant's data (404, never 403),
//! and a read-only (scim.read) token may read and search but not write (403).

use e2e_tests::scim::{filter, patch, stack, unique};
use serde_json::json;

#[tokio::test]
async fn tenants_are_isolated_and_read_only_tokens_cannot_write() {
    let Some(stack) = stack().await else { return };
    let owner = stack.token().await;
    let other = stack.other_customer().await;
    assert_ne!(other.tenant_id, stack.customer.tenant_id);
    let stranger = stack.token_of(&other, "scim").await;
    let reader = stack.read_only_token().await;

    let name = format!("{}@isolated.example", unique("private"));
    let reply = stack
        .scim(&owner, "POST", "/Users", Some(&json!({"userName": name})))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let uid = reply.body["id"].as_str().expect("id").to_owned();
    let reply = stack
        .scim(
            &owner,
            "POST",
            "/Groups",
            Some(&json!({"displayName": unique("G"), "members": [{"value": uid}]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let gid = reply.body["id"].as_str().expect("id").to_owned();

    let change = patch(json!([{"op": "replace", "path": "displayName", "value": "x"}]));
    for (method, target, body) in [
        ("GET", format!("/Users/{uid}"), None),
        ("PUT", format!("/Users/{uid}"), Some(json!({"userName": "x"}))),
        ("PATCH", format!("/Users/{uid}"), Some(change.clone())),
        ("DELETE", format!("/Users/{uid}"), None),
        ("GET", format!("/Groups/{gid}"), None),
        ("PUT", format!("/Groups/{gid}"), Some(json!({"displayName": "x"}))),
        ("PATCH", format!("/Groups/{gid}"), Some(change.clone())),
        ("DELETE", format!("/Groups/{gid}"), None),
    ] {
        let reply = stack.scim(&stranger, method, &target, body.as_ref()).await;
        assert_eq!(
            reply.status, 404,
            "{method} {target} from another tenant: {:?}",
            reply.body
        );
    }
    for target in [
        format!("/Users?filter={}", filter(&format!("userName eq \"{name}\""))),
        format!("/Users?filter={}", filter(&format!("id eq \"{uid}\""))),
        format!(
            "/Groups?filter={}",
            filter(&format!("id eq \"{gid}\" and members eq \"{uid}\""))
        ),
        format!("/Groups?filter={}", filter(&format!("members.value eq \"{uid}\""))),
    ] {
        let reply = stack.scim(&stranger, "GET", &target, None).await;
        assert_eq!(reply.body["totalResults"], 0, "{target}");
    }
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("userName eq \"{name}\"")});
    assert_eq!(
        stack.scim(&stranger, "POST", "/.search", Some(&search)).await.body["totalResults"],
        0
    );
    assert_eq!(
        stack
            .scim(&stranger, "POST", "/Users/.search", Some(&search))
            .await
            .body["totalResults"],
        0
    );

    // Read-only scope: reads and searches work, writes are 403.
    assert_eq!(
        stack.scim(&reader, "GET", &format!("/Users/{uid}"), None).await.status,
        200
    );
    assert_eq!(
        stack.scim(&reader, "POST", "/Users/.search", Some(&search)).await.body["totalResults"],
        1
    );
    let reply = stack
        .scim(&reader, "PATCH", &format!("/Users/{uid}"), Some(&change))
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert_eq!(
        stack
            .scim(&reader, "DELETE", &format!("/Users/{uid}"), None)
            .await
            .status,
        403
    );
    assert_eq!(
        stack
            .scim(&reader, "POST", "/Users", Some(&json!({"userName": unique("nope")})))
            .await
            .status,
        403
    );

    // The owner still has everything.
    assert_eq!(
        stack.scim(&owner, "GET", &format!("/Groups/{gid}"), None).await.body["members"][0]["value"],
        uid
    );
    assert_eq!(
        stack
            .scim(&owner, "DELETE", &format!("/Groups/{gid}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        stack
            .scim(&owner, "DELETE", &format!("/Users/{uid}"), None)
            .await
            .status,
        204
    );
}
