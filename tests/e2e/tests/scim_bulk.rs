//! `POST /Bulk` (RFC 7644 §3.7) through the running local stack: bulkId forward references between users, a group
//! and a manager; failOnErrors; a malformed operation failing alone; the advertised limits enforced with 413
//! `tooMany`; a read-only token refused per operation.

use e2e_tests::scim as scim_support;

use scim_support::{ENTERPRISE, GROUP_SCHEMA, Stack, USER_SCHEMA, stack, unique};
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(fail_on_errors: Option<u64>, operations: Value) -> Value {
    let mut body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    body
}

fn post_user(bulk_id: &str, user_name: &str, manager: Option<&str>) -> Value {
    let mut data = json!({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": user_name, "active": true});
    if let Some(manager) = manager {
        data[ENTERPRISE] = json!({"manager": {"value": manager}});
    }
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
}

fn statuses(body: &Value) -> Vec<&str> {
    body["Operations"]
        .as_array()
        .expect("Operations")
        .iter()
        .map(|op| op["status"].as_str().expect("status"))
        .collect()
}

fn created_id(body: &Value, index: usize) -> String {
    let location = body["Operations"][index]["location"].as_str().expect("location");
    location.rsplit('/').next().expect("id").to_owned()
}

async fn run(stack: &Stack, token: &str, body: &Value) -> Value {
    let reply = stack.scim(token, "POST", "/Bulk", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn bulk_creates_with_forward_references_then_patches_and_deletes() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let (alice, bob) = (unique("alice"), unique("bob"));
    let body = bulk(
        None,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {"schemas": [GROUP_SCHEMA],
                "displayName": unique("team"), "members": [{"value": "bulkId:alice"}, {"value": "bulkId:bob"}]}},
            post_user("alice", &alice, Some("bulkId:bob")),
            post_user("bob", &bob, None),
            {"method": "PATCH", "path": "/Users/bulkId:alice", "data": {"schemas": [scim_support::PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}},
        ]),
    );
    let answer = run(&stack, &token, &body).await;
    assert_eq!(statuses(&answer), ["201", "201", "201", "200"], "{answer}");
    let (group, alice_id, bob_id) = (created_id(&answer, 0), created_id(&answer, 1), created_id(&answer, 2));
    let read = stack.scim(&token, "GET", &format!("/Groups/{group}"), None).await;
    let mut members: Vec<&str> = read.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    members.sort_unstable();
    let mut expected = [alice_id.as_str(), bob_id.as_str()];
    expected.sort_unstable();
    assert_eq!(members, expected);
    let user = stack
        .scim(&token, "GET", &format!("/Users/{alice_id}"), None)
        .await
        .body;
    assert_eq!(user[ENTERPRISE]["manager"]["value"], bob_id.as_str());
    assert_eq!(user["active"], false);

    let cleanup = bulk(
        None,
        json!([
            {"method": "DELETE", "path": format!("/Groups/{group}")},
            {"method": "DELETE", "path": format!("/Users/{alice_id}")},
            {"method": "DELETE", "path": format!("/Users/{bob_id}")},
        ]),
    );
    assert_eq!(statuses(&run(&stack, &token, &cleanup).await), ["204", "204", "204"]);
    let gone = stack.scim(&token, "GET", &format!("/Users/{bob_id}"), None).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn bulk_errors_stay_per_operation_and_fail_on_errors_stops() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let taken = unique("taken");
    let first = run(&stack, &token, &bulk(None, json!([post_user("t", &taken, None)]))).await;
    assert_eq!(statuses(&first), ["201"]);
    let (fresh, later) = (unique("fresh"), unique("later"));
    let operations = json!([
        post_user("dup", &taken, None),
        {"method": "PUT", "path": "/Users"},
        post_user("cycle-a", &fresh, Some("bulkId:cycle-b")),
        post_user("cycle-b", &later, Some("bulkId:cycle-a")),
    ]);
    let answer = run(&stack, &token, &bulk(None, operations.clone())).await;
    assert_eq!(statuses(&answer), ["409", "400", "409", "409"], "{answer}");
    assert_eq!(answer["Operations"][0]["response"]["scimType"], "uniqueness");
    let stopped = run(&stack, &token, &bulk(Some(2), operations)).await;
    assert_eq!(statuses(&stopped), ["409", "400"]);
    let filter = scim_support::filter(&format!("userName eq \"{fresh}\""));
    let none = stack
        .scim(&token, "GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(none.body["totalResults"], 0, "a failed operation writes nothing");

    let read_only = stack.read_only_token().await;
    let refused = run(
        &stack,
        &read_only,
        &bulk(None, json!([post_user("r", &unique("r"), None)])),
    )
    .await;
    assert_eq!(statuses(&refused), ["403"]);
}

#[tokio::test]
async fn bulk_limits_are_advertised_and_enforced() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let config = stack.scim(&token, "GET", "/ServiceProviderConfig", None).await.body;
    assert_eq!(config["bulk"]["supported"], true);
    let max_operations = config["bulk"]["maxOperations"].as_u64().expect("maxOperations");
    let max_payload = config["bulk"]["maxPayloadSize"].as_u64().expect("maxPayloadSize");
    let too_many: Vec<Value> = (0..=max_operations)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let reply = stack
        .scim(&token, "POST", "/Bulk", Some(&bulk(None, json!(too_many))))
        .await;
    assert_eq!((reply.status, reply.body["scimType"].as_str()), (413, Some("tooMany")));
    let padding = "x".repeat(usize::try_from(max_payload).expect("size"));
    let large = bulk(None, json!([post_user("big", &padding, None)]));
    let reply = stack.scim(&token, "POST", "/Bulk", Some(&large)).await;
    assert_eq!((reply.status, reply.body["scimType"].as_str()), (413, Some("tooMany")));
}
