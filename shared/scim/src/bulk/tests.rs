use std::collections::HashMap;

use serde_json::{Value, json};

use super::order::{references, resolve, schedule, waves};
use super::response::{Done, OperationResult, bulk_response};
use super::*;

const LIMITS: BulkLimits = BulkLimits {
    max_operations: 3,
    max_payload_bytes: 1000,
};

fn request(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
}

fn post_user(bulk_id: &str, manager: Option<&str>) -> Value {
    let mut data = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": bulk_id});
    if let Some(manager) = manager {
        data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"manager": {"value": manager}});
    }
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
}

fn post_group(bulk_id: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"displayName": bulk_id, "members": members}})
}

fn parsed(operations: Value) -> BulkRequest {
    let limits = BulkLimits {
        max_operations: 100,
        max_payload_bytes: 1 << 20,
    };
    parse(&request(operations), &limits).expect("a BulkRequest")
}

fn order_of(request: &BulkRequest) -> Vec<(usize, Option<u16>)> {
    schedule(&request.operations)
        .into_iter()
        .map(|(index, step)| (index, step.err().map(|e| e.status)))
        .collect()
}

#[test]
fn parses_operations_and_fail_on_errors() {
    let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 2, "Operations": [
        post_user("a", None),
        {"method": "patch", "path": "/Users/bulkId:a", "version": "W/\"1\"", "data": {"Operations": []}},
        {"method": "DELETE", "path": "/Groups/123"},
    ]});
    let request = parse(&body, &LIMITS).unwrap();
    assert_eq!(request.fail_on_errors, Some(2));
    let ops: Vec<&Operation> = request.operations.iter().map(|o| o.parsed.as_ref().unwrap()).collect();
    assert_eq!(ops[0].method, BulkMethod::Post);
    assert_eq!(ops[0].target, None);
    assert_eq!(ops[1].method, BulkMethod::Patch);
    assert_eq!(ops[1].target, Some(ResourceRef::BulkId("a".into())));
    assert_eq!(ops[1].version.as_deref(), Some("W/\"1\""));
    assert_eq!(ops[2].kind, ResourceKind::Group);
    assert_eq!(ops[2].target, Some(ResourceRef::Id("123".into())));
    assert_eq!(request.operations[1].method, "patch");
}

#[test]
fn whole_request_errors() {
    let not_bulk = parse(&json!({"Operations": []}), &LIMITS).unwrap_err();
    assert_eq!(
        (not_bulk.status, not_bulk.scim_type),
        (400, Some(ScimType::InvalidSyntax))
    );
    let no_ops = parse(&json!({"schemas": [BULK_REQUEST_SCHEMA]}), &LIMITS).unwrap_err();
    assert_eq!(no_ops.status, 400);
    let zero = json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []});
    assert_eq!(
        parse(&zero, &LIMITS).unwrap_err().scim_type,
        Some(ScimType::InvalidValue)
    );
    let four = request(json!([
        post_user("a", None),
        post_user("b", None),
        post_user("c", None),
        post_user("d", None)
    ]));
    let too_many = parse(&four, &LIMITS).unwrap_err();
    assert_eq!((too_many.status, too_many.scim_type), (413, Some(ScimType::TooMany)));
    let big = check_payload(1001, &LIMITS).unwrap_err();
    assert_eq!((big.status, big.scim_type), (413, Some(ScimType::TooMany)));
    assert!(check_payload(1000, &LIMITS).is_ok());
}

#[test]
fn a_malformed_operation_fails_alone() {
    let request = parsed(json!([
        {"method": "GET", "path": "/Users/1"},
        {"method": "POST", "path": "/Users", "data": {"userName": "no-bulk-id"}},
        {"method": "POST", "path": "/Users/1", "bulkId": "x", "data": {}},
        {"method": "PUT", "path": "/Users", "data": {}},
        {"method": "PATCH", "path": "/Users/1"},
        {"method": "DELETE", "path": "/Widgets/1"},
        {"method": "DELETE", "path": "/Users/1", "bulkId": 7},
        "not an object",
        post_user("fine", None),
    ]));
    let statuses: Vec<u16> = request
        .operations
        .iter()
        .map(|o| o.parsed.as_ref().err().map_or(0, |e| e.status))
        .collect();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 400, 400, 400, 0]);
    assert_eq!(order_of(&request).len(), 9);
}

#[test]
fn references_are_found_in_paths_members_and_manager() {
    let request = parsed(json!([
        post_group("g", &["bulkId:u1", "bulkId:u2", "plain-id"]),
        post_user("u1", Some("bulkId:boss")),
        {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:u3"}]}]}},
        // A userName that merely looks like a reference is not one: only `value` keys and paths count.
        {"method": "POST", "path": "/Users", "bulkId": "odd", "data": {"userName": "bulkId:nothing"}},
    ]));
    let refs = |i: usize| references(request.operations[i].parsed.as_ref().unwrap());
    assert_eq!(refs(0).into_iter().collect::<Vec<_>>(), ["u1", "u2"]);
    assert_eq!(refs(1).into_iter().collect::<Vec<_>>(), ["boss"]);
    assert_eq!(refs(2).into_iter().collect::<Vec<_>>(), ["g", "u3"]);
    assert!(refs(3).is_empty());
}

#[test]
fn forward_references_run_after_their_creators() {
    let request = parsed(json!([
        post_group("team", &["bulkId:alice", "bulkId:bob"]),
        post_user("alice", Some("bulkId:bob")),
        post_user("bob", None),
        {"method": "DELETE", "path": "/Users/somebody"},
    ]));
    assert_eq!(order_of(&request), [(2, None), (1, None), (0, None), (3, None)]);
}

#[test]
fn cycles_and_unknown_references_fail() {
    let request = parsed(json!([
        post_user("a", Some("bulkId:b")),
        post_user("b", Some("bulkId:a")),
        post_user("self", Some("bulkId:self")),
        post_user("c", Some("bulkId:missing")),
        post_group("g", &["bulkId:a"]),
        post_user("d", None),
        post_user("d", None),
    ]));
    let order = order_of(&request);
    assert_eq!(&order[..3], &[(3, Some(400)), (5, None), (6, Some(400))]);
    let mut rest = order[3..].to_vec();
    rest.sort();
    assert_eq!(rest, [(0, Some(409)), (1, Some(409)), (2, Some(409)), (4, Some(409))]);
}

#[test]
fn resolve_substitutes_created_ids() {
    let request = parsed(json!([
        {"method": "PUT", "path": "/Groups/bulkId:g", "data": {"displayName": "g",
            "members": [{"value": "bulkId:u"}, {"value": "kept"}]}},
    ]));
    let op = request.operations[0].parsed.as_ref().unwrap();
    let created = HashMap::from([("g".to_owned(), "G-1".to_owned()), ("u".to_owned(), "U-1".to_owned())]);
    let resolved = resolve(op, &created).unwrap();
    assert_eq!(resolved.target, Some(ResourceRef::Id("G-1".into())));
    assert_eq!(resolved.data["members"], json!([{"value": "U-1"}, {"value": "kept"}]));
    let failed = resolve(op, &HashMap::from([("g".to_owned(), "G-1".to_owned())])).unwrap_err();
    assert_eq!(failed.status, 409);
}

#[test]
fn response_lists_operations_in_request_order() {
    let body = bulk_response(vec![
        OperationResult {
            index: 1,
            method: "POST".into(),
            bulk_id: Some("b".into()),
            outcome: Err(ScimError::uniqueness("taken")),
        },
        OperationResult {
            index: 0,
            method: "POST".into(),
            bulk_id: Some("a".into()),
            outcome: Ok(Done {
                status: 201,
                location: Some("https://x/Users/1".into()),
                version: Some("W/\"1\"".into()),
            }),
        },
    ]);
    assert_eq!(body["schemas"][0], BULK_RESPONSE_SCHEMA);
    let ops = body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["bulkId"], "a");
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[0]["location"], "https://x/Users/1");
    assert_eq!(ops[0]["version"], "W/\"1\"");
    assert!(ops[0].get("response").is_none());
    assert_eq!(ops[1]["status"], "409");
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
}

#[test]
fn only_independent_creates_share_a_wave() {
    let request = parsed(json!([
        post_user("a", None),
        post_user("b", None),
        post_user("c", Some("bulkId:a")),
        {"method": "GET", "path": "/Users"},
        post_user("d", None),
        {"method": "PATCH", "path": "/Users/bulkId:a", "data": {"Operations": []}},
        {"method": "DELETE", "path": "/Users/bulkId:b"},
        post_user("e", None),
        post_user("f", None),
        post_user("g", None),
    ]));
    let steps = schedule(&request.operations);
    let indexes: Vec<usize> = steps.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let as_indexes = |width| -> Vec<Vec<usize>> {
        waves(&request.operations, &steps, width)
            .into_iter()
            .map(|wave| indexes[wave].to_vec())
            .collect()
    };
    assert_eq!(
        as_indexes(8),
        [vec![0, 1], vec![2, 3, 4], vec![5], vec![6], vec![7, 8, 9]]
    );
    assert_eq!(
        as_indexes(2),
        [vec![0, 1], vec![2, 3], vec![4], vec![5], vec![6], vec![7, 8], vec![9]]
    );
    assert_eq!(as_indexes(1).len(), 10);
}
