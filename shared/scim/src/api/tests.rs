//! The whole SCIM surface over the in-memory store: every endpoint and method, Entra's request shapes, pagination,
//! sorting, projection, ETags, concurrency semantics, write permission and tenant isolation.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wif_common::FixedClock;
use wif_common::audit::{AuditError, AuditEvent, AuditSink};

use http::{Request, Response};

use super::*;
use crate::memory::MemoryDirectory;
use crate::service::{DirectoryService, ServiceConfig};
use crate::store::DirectoryStore;

const BASE: &str = "https://scim.example.com/scim/v2";

#[derive(Default)]
struct RecordingAudit(Mutex<Vec<AuditEvent>>);

#[async_trait::async_trait]
impl AuditSink for RecordingAudit {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

struct Harness {
    api: ScimApi,
    store: Arc<MemoryDirectory>,
    audit: Arc<RecordingAudit>,
    clock: Arc<FixedClock>,
}

fn harness_with(config: ServiceConfig) -> Harness {
    let store = Arc::new(MemoryDirectory::new());
    let audit = Arc::new(RecordingAudit::default());
    let clock = Arc::new(FixedClock::at(1_767_225_600));
    let service = DirectoryService::new(store.clone(), audit.clone(), clock.clone(), config);
    Harness {
        api: ScimApi::new(service),
        store,
        audit,
        clock,
    }
}

fn harness() -> Harness {
    harness_with(ServiceConfig {
        password_iterations: 1_000,
        ..ServiceConfig::default()
    })
}

fn caller(tenant: &str, can_write: bool) -> Caller {
    Caller {
        tenant_id: crate::store::TenantId::new(tenant),
        client_id: wif_common::ClientId::new(format!("client-{tenant}")),
        can_write,
    }
}

impl Harness {
    async fn call_as(
        &self,
        caller: Caller,
        method: &str,
        target: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response<String> {
        let mut request = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        if !body.is_empty()
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("Content-Type", SCIM_CONTENT_TYPE);
        }
        let request = request.body(body).unwrap();
        self.api.handle(&request, caller, BASE, Some("req-1".into())).await
    }

    async fn call(&self, method: &str, target: &str, body: Option<Value>) -> Response<String> {
        self.call_as(caller("t1", true), method, target, body, &[]).await
    }

    async fn create_user(&self, user_name: &str) -> Value {
        let response = self
            .call("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": true})))
            .await;
        assert_eq!(response.status(), 201, "{:?}", response.json_body());
        response.json_body().unwrap()
    }

    async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let response = self
            .call("POST", "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members})))
            .await;
        assert_eq!(response.status(), 201, "{:?}", response.json_body());
        response.json_body().unwrap()
    }
}

/// What the assertions read of an answer.
trait Answer {
    fn header(&self, name: &str) -> Option<&str>;
    fn json_body(&self) -> Option<Value>;
}

impl Answer for Response<String> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|value| value.to_str().ok())
    }

    fn json_body(&self) -> Option<Value> {
        serde_json::from_str(self.body()).ok()
    }
}

/// A raw request, for bodies and media types the JSON helpers would not send.
fn raw_request(method: &str, target: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Vec<u8>> {
    let mut request = Request::builder().method(method).uri(target);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    request.body(body).unwrap()
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

fn assert_scim_error(response: &Response<String>, status: u16, scim_type: Option<&str>) {
    assert_eq!(response.status(), status, "{:?}", response.json_body());
    assert_eq!(response.header("content-type"), Some(SCIM_CONTENT_TYPE));
    let body = response.json_body().expect("error body");
    assert_eq!(body["schemas"][0], crate::error::ERROR_SCHEMA);
    assert_eq!(body["status"], status.to_string());
    assert_eq!(body.get("scimType").and_then(Value::as_str), scim_type, "{body}");
    if matches!(status, 429 | 503) {
        assert!(response.header("retry-after").is_some(), "{status} without Retry-After");
    }
}

#[tokio::test]
async fn entra_test_connection_gets_an_empty_list() {
    let h = harness();
    let response = h
        .call_as(
            caller("t1", true),
            "GET",
            "/Users?filter=userName+eq+%226f1c0a0e-2b63-4ad5-a2a1-8d5f7b2f9c10%22",
            None,
            &[("Accept", "application/json")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some(SCIM_CONTENT_TYPE));
    let body = response.json_body().unwrap();
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["Resources"], json!([]));
    assert_eq!(body["schemas"][0], crate::schema::LIST_RESPONSE_SCHEMA);
}

#[tokio::test]
async fn user_lifecycle_as_entra_drives_it() {
    let h = harness();
    let create = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-b166-0a7ff8ec26a6",
        "userName": "Test_User_dfeef4c5@contoso.com",
        "active": true,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "password": "Sup3r!secret",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "employeeNumber": "42"}
    });
    let response = h.call("POST", "/Users", Some(create.clone())).await;
    assert_eq!(response.status(), 201);
    let user = response.json_body().unwrap();
    let id = id_of(&user);
    assert_eq!(response.header("location"), Some(format!("{BASE}/Users/{id}").as_str()));
    assert_eq!(response.header("etag"), Some("W/\"1\""));
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["version"], "W/\"1\"");
    assert_eq!(user["meta"]["location"], format!("{BASE}/Users/{id}"));
    assert!(user.get("password").is_none(), "password is never returned");
    assert_eq!(
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Eng"
    );

    // The password is stored hashed only.
    let stored = h
        .store
        .get_user(
            &crate::store::TenantId::new("t1"),
            &crate::store::ResourceId::new(id.as_str()),
        )
        .await
        .unwrap()
        .unwrap();
    let hash = stored.password_hash.clone().unwrap();
    assert!(crate::service::password::verify_password("Sup3r!secret", &hash));
    assert!(!serde_json::to_string(&stored.attributes).unwrap().contains("Sup3r"));

    // Duplicate (any case) → 409 uniqueness.
    let mut dup = create.clone();
    dup["userName"] = json!("test_user_DFEEF4C5@contoso.com");
    assert_scim_error(&h.call("POST", "/Users", Some(dup)).await, 409, Some("uniqueness"));

    // Lookups Entra uses.
    for filter in [
        "userName+eq+%22Test_User_dfeef4c5%40contoso.com%22",
        "externalId+eq+%220a21f0f2-8d2a-4f8e-b166-0a7ff8ec26a6%22",
        "emails%5Btype+eq+%22work%22%5D.value+eq+%22test_user_11bb11bb%40contoso.com%22",
        &format!("id+eq+%22{id}%22"),
    ] {
        let body = h
            .call("GET", &format!("/Users?filter={filter}"), None)
            .await
            .json_body()
            .unwrap();
        assert_eq!(body["totalResults"], 1, "{filter}");
        assert_eq!(body["Resources"][0]["id"], id);
    }

    // Disable (Entra's string boolean) → 200 with the resource.
    let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let response = h.call("PATCH", &format!("/Users/{id}"), Some(disable)).await;
    assert_eq!(response.status(), 200, "{:?}", response.json_body());
    let patched = response.json_body().unwrap();
    assert_eq!(patched["active"], false);
    assert_eq!(patched["meta"]["version"], "W/\"2\"");
    // Inactive users are still found.
    let body = h
        .call(
            "GET",
            "/Users?filter=userName+eq+%22test_user_dfeef4c5%40contoso.com%22",
            None,
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 1);

    // Manager set, change, remove.
    let manager = h.create_user("boss@contoso.com").await;
    let manager_id = id_of(&manager);
    let set = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager_id}]});
    let patched = h
        .call("PATCH", &format!("/Users/{id}"), Some(set))
        .await
        .json_body()
        .unwrap();
    assert_eq!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        manager_id
    );
    let check = format!("/Users?filter=id+eq+%22{id}%22+and+manager+eq+%22{manager_id}%22");
    assert_eq!(
        h.call("GET", &check, None).await.json_body().unwrap()["totalResults"],
        1
    );
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]});
    let patched = h
        .call("PATCH", &format!("/Users/{id}"), Some(remove))
        .await
        .json_body()
        .unwrap();
    assert!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            .get("manager")
            .is_none()
    );
    assert_eq!(
        h.call("GET", &check, None).await.json_body().unwrap()["totalResults"],
        0
    );

    // Path-less replace with dotted keys.
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"name.givenName": "Renamed", "active": true}}]});
    let patched = h
        .call("PATCH", &format!("/Users/{id}"), Some(rename))
        .await
        .json_body()
        .unwrap();
    assert_eq!(patched["name"]["givenName"], "Renamed");
    assert_eq!(patched["active"], true);

    // Empty Operations: no-op, same version.
    let noop = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []});
    let before = h.call("GET", &format!("/Users/{id}"), None).await.json_body().unwrap();
    let after = h
        .call("PATCH", &format!("/Users/{id}"), Some(noop))
        .await
        .json_body()
        .unwrap();
    assert_eq!(before["meta"]["version"], after["meta"]["version"]);

    // PUT replaces.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "renamed@contoso.com", "active": false, "externalId": "0a21f0f2-8d2a-4f8e-b166-0a7ff8ec26a6"});
    let response = h.call("PUT", &format!("/Users/{id}"), Some(put)).await;
    assert_eq!(response.status(), 200, "{:?}", response.json_body());
    let replaced = response.json_body().unwrap();
    assert_eq!(replaced["userName"], "renamed@contoso.com");
    assert!(replaced.get("name").is_none(), "PUT clears what it does not carry");
    assert_eq!(
        h.store
            .get_user(
                &crate::store::TenantId::new("t1"),
                &crate::store::ResourceId::new(id.as_str())
            )
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        Some(hash),
        "PUT without password keeps it"
    );
    // The old userName is free again.
    h.create_user("Test_User_dfeef4c5@contoso.com").await;

    // DELETE → 204, then 404.
    let response = h.call("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    assert_scim_error(&h.call("GET", &format!("/Users/{id}"), None).await, 404, None);
    assert_scim_error(&h.call("DELETE", &format!("/Users/{id}"), None).await, 404, None);
}

#[tokio::test]
async fn groups_with_members_in_both_removal_shapes() {
    let h = harness();
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(id_of(&h.create_user(&format!("member{i}@x.com")).await));
    }
    let create = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": "Sales",
        "externalId": "g-ext",
        "meta": {"resourceType": "Group"},
        "members": [{"value": users[0]}]
    });
    let response = h.call("POST", "/Groups", Some(create)).await;
    assert_eq!(response.status(), 201, "{:?}", response.json_body());
    let group = response.json_body().unwrap();
    let gid = id_of(&group);
    assert_eq!(group["members"][0]["value"], users[0]);

    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}, {"value": users[3]}]}]});
    let response = h.call("PATCH", &format!("/Groups/{gid}"), Some(add.clone())).await;
    assert_eq!(response.status(), 204);
    // Idempotent re-add.
    assert_eq!(
        h.call("PATCH", &format!("/Groups/{gid}"), Some(add)).await.status(),
        204
    );

    // Membership check.
    let check =
        |user: &str| format!("/Groups?filter=id+eq+%22{gid}%22+and+members+eq+%22{user}%22&excludedAttributes=members");
    let body = h.call("GET", &check(&users[2]), None).await.json_body().unwrap();
    assert_eq!(body["totalResults"], 1);
    assert!(
        body["Resources"][0].get("members").is_none(),
        "excludedAttributes=members honoured"
    );

    // Remove shape 1: value list. Shape 2: value filter. Only the listed members go.
    let remove_value = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}]});
    assert_eq!(
        h.call("PATCH", &format!("/Groups/{gid}"), Some(remove_value))
            .await
            .status(),
        204
    );
    let remove_filter = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}]});
    assert_eq!(
        h.call("PATCH", &format!("/Groups/{gid}"), Some(remove_filter))
            .await
            .status(),
        204
    );
    let group = h
        .call("GET", &format!("/Groups/{gid}"), None)
        .await
        .json_body()
        .unwrap();
    let mut members: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    let mut expected = vec![users[0].clone(), users[3].clone()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(
        h.call("GET", &check(&users[2]), None).await.json_body().unwrap()["totalResults"],
        0
    );

    // User's groups are derived; members.value eq finds the group.
    let user = h
        .call("GET", &format!("/Users/{}", users[0]), None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(user["groups"][0]["value"], gid);
    let body = h
        .call(
            "GET",
            &format!("/Groups?filter=members.value+eq+%22{}%22", users[3]),
            None,
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 1);

    // Rename and displayName lookup.
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]});
    assert_eq!(
        h.call("PATCH", &format!("/Groups/{gid}"), Some(rename)).await.status(),
        204
    );
    let body = h
        .call(
            "GET",
            "/Groups?filter=displayName+eq+%22sales+emea%22&excludedAttributes=members",
            None,
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["displayName"], "Sales EMEA");

    // Adding a user that does not exist is refused; the group is unchanged.
    let bad = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]});
    assert_scim_error(
        &h.call("PATCH", &format!("/Groups/{gid}"), Some(bad)).await,
        400,
        Some("invalidValue"),
    );

    // Deleting a member user removes the membership; deleting the group → 204.
    assert_eq!(
        h.call("DELETE", &format!("/Users/{}", users[0]), None).await.status(),
        204
    );
    let group = h
        .call("GET", &format!("/Groups/{gid}"), None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(group["members"].as_array().unwrap().len(), 1);
    // PUT replaces members.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "members": [{"value": users[1]}]});
    let replaced = h
        .call("PUT", &format!("/Groups/{gid}"), Some(put))
        .await
        .json_body()
        .unwrap();
    assert_eq!(
        replaced["members"],
        json!([{"value": users[1], "$ref": format!("{BASE}/Users/{}", users[1]), "type": "User"}])
    );
    assert_eq!(h.call("DELETE", &format!("/Groups/{gid}"), None).await.status(), 204);
    assert_scim_error(&h.call("GET", &format!("/Groups/{gid}"), None).await, 404, None);
    assert!(
        h.store
            .groups_of_user(
                &crate::store::TenantId::new("t1"),
                &crate::store::ResourceId::new(users[1].as_str())
            )
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn etags_guard_every_write() {
    let h = harness();
    let user = h.create_user("etag@x.com").await;
    let id = id_of(&user);
    let path = format!("/Users/{id}");
    let get = h
        .call_as(caller("t1", true), "GET", &path, None, &[("If-None-Match", "W/\"1\"")])
        .await;
    assert_eq!(get.status(), 304);
    assert_eq!(get.header("etag"), Some("W/\"1\""));
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "A"}]});
    let stale = [("If-Match", "W/\"9\"")];
    assert_scim_error(
        &h.call_as(caller("t1", true), "PATCH", &path, Some(patch.clone()), &stale)
            .await,
        412,
        None,
    );
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@x.com"});
    assert_scim_error(
        &h.call_as(caller("t1", true), "PUT", &path, Some(put.clone()), &stale)
            .await,
        412,
        None,
    );
    assert_scim_error(
        &h.call_as(caller("t1", true), "DELETE", &path, None, &stale).await,
        412,
        None,
    );
    let ok = h
        .call_as(
            caller("t1", true),
            "PATCH",
            &path,
            Some(patch),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.header("etag"), Some("W/\"2\""));
    assert_eq!(
        h.call_as(caller("t1", true), "PUT", &path, Some(put), &[("If-Match", "*")])
            .await
            .status(),
        200
    );

    let group = h.create_group("G", &[]).await;
    let gpath = format!("/Groups/{}", id_of(&group));
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
    assert_scim_error(
        &h.call_as(caller("t1", true), "PATCH", &gpath, Some(add.clone()), &stale)
            .await,
        412,
        None,
    );
    assert_eq!(
        h.call_as(
            caller("t1", true),
            "PATCH",
            &gpath,
            Some(add),
            &[("If-Match", "W/\"1\"")]
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        h.call_as(caller("t1", true), "DELETE", &gpath, None, &[("If-Match", "W/\"1\"")])
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn concurrent_patches_never_lose_an_update() {
    let h = harness();
    let user = h.create_user("busy@x.com").await;
    let path = format!("/Users/{}", id_of(&user));
    let patches = (0..10).map(|i| {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "emails", "value": [{"type": format!("t{i}"), "value": format!("e{i}@x.com")}]}]});
        let path = path.clone();
        let h = &h;
        async move { h.call("PATCH", &path, Some(body)).await.status() }
    });
    let statuses = futures::future::join_all(patches).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let user = h.call("GET", &path, None).await.json_body().unwrap();
    assert_eq!(
        user["emails"].as_array().unwrap().len(),
        10,
        "every concurrent PATCH is kept"
    );
    assert_eq!(user["meta"]["version"], "W/\"11\"");

    let racers = (0..20).map(|_| h.call("POST", "/Users", Some(json!({"userName": "RACE@x.com"}))));
    let statuses: Vec<u16> = futures::future::join_all(racers)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19);
}

#[tokio::test]
async fn pagination_sorting_and_projection() {
    let h = harness();
    for name in ["carol", "alice", "erin", "bob", "dave"] {
        h.create_user(name).await;
    }
    let body = h
        .call(
            "GET",
            "/Users?sortBy=userName&startIndex=2&count=2&attributes=userName",
            None,
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 5);
    assert_eq!(body["startIndex"], 2);
    assert_eq!(body["itemsPerPage"], 2);
    let names: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);
    let first = &body["Resources"][0];
    assert!(first.get("id").is_some(), "id is always returned");
    assert!(
        first.get("active").is_none() && first.get("meta").is_none(),
        "only requested attributes: {first}"
    );

    let body = h
        .call("GET", "/Users?sortBy=userName&sortOrder=descending&count=1", None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["Resources"][0]["userName"], "erin");
    let body = h
        .call(
            "GET",
            "/Users?filter=userName+co+%22a%22&excludedAttributes=meta,active",
            None,
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 3, "alice, carol, dave");
    assert!(body["Resources"][0].get("meta").is_none());
    assert_eq!(
        h.call("GET", "/Users?count=0", None).await.json_body().unwrap()["Resources"],
        json!([])
    );

    // Cursor pagination visits every user exactly once.
    let mut seen = Vec::new();
    let mut target = "/Users?cursor=&count=2".to_owned();
    for _ in 0..10 {
        let body = h.call("GET", &target, None).await.json_body().unwrap();
        assert!(body.get("startIndex").is_none());
        seen.extend(
            body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => target = format!("/Users?cursor={next}&count=2"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "erin"]);
    // Sorted cursor pages too.
    let body = h
        .call("GET", "/Users?cursor=&count=3&sortBy=userName", None)
        .await
        .json_body()
        .unwrap();
    let next = body["nextCursor"].as_str().unwrap().to_owned();
    let body = h
        .call("GET", &format!("/Users?cursor={next}&count=3&sortBy=userName"), None)
        .await
        .json_body()
        .unwrap();
    let names: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dave", "erin"]);
    // RFC 9865 §3: a cursor of another query, or none we issued, is invalidCursor.
    assert_scim_error(
        &h.call("GET", &format!("/Users?cursor={next}&count=3"), None).await,
        400,
        Some("invalidCursor"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?cursor=garbage&count=3", None).await,
        400,
        Some("invalidCursor"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?cursor=&startIndex=1", None).await,
        400,
        Some("invalidValue"),
    );

    // POST .search, per type and at the root.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"b\"", "attributes": ["userName"], "startIndex": 1, "count": 10});
    let body = h
        .call("POST", "/Users/.search", Some(search))
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 1);
    h.create_group("bees", &[]).await;
    let root = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "meta.resourceType eq \"Group\""});
    let body = h.call("POST", "/.search", Some(root)).await.json_body().unwrap();
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0]["displayName"], "bees");
    let body = h
        .call("POST", "/.search", Some(json!({"count": 100})))
        .await
        .json_body()
        .unwrap();
    assert_eq!(body["totalResults"], 6, "users and groups");
}

#[tokio::test]
async fn sorting_by_meta_timestamps_and_display_name() {
    let h = harness();
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        ids.push(id_of(&h.create_user(name).await));
        h.clock.advance(60);
    }
    let names = |body: Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    let body = h
        .call("GET", "/Users?sortBy=meta.created&sortOrder=descending", None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(names(body), ["third", "second", "first"]);
    // Touch the first user: it becomes the most recently modified.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "F"}]});
    assert_eq!(
        h.call("PATCH", &format!("/Users/{}", ids[0]), Some(patch))
            .await
            .status(),
        200
    );
    let body = h
        .call("GET", "/Users?sortBy=meta.lastModified", None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(names(body), ["second", "third", "first"]);
    for name in ["beta", "Alpha", "gamma"] {
        h.create_group(name, &[]).await;
    }
    let body = h
        .call("GET", "/Groups?sortBy=displayName&excludedAttributes=members", None)
        .await
        .json_body()
        .unwrap();
    let groups: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        ["Alpha", "beta", "gamma"],
        "displayName sorts case-insensitively"
    );
}

#[tokio::test]
async fn scans_are_bounded_by_the_budget() {
    let h = harness_with(ServiceConfig {
        scan_budget: 3,
        scan_page: 2,
        password_iterations: 1_000,
        ..ServiceConfig::default()
    });
    for i in 0..5 {
        h.create_user(&format!("u{i}")).await;
    }
    assert_scim_error(
        &h.call("GET", "/Users?filter=userName+co+%22u%22", None).await,
        400,
        Some("tooMany"),
    );
    // Fast paths ignore the budget; cursor pagination continues page by page.
    assert_eq!(
        h.call("GET", "/Users?filter=userName+eq+%22u4%22", None)
            .await
            .json_body()
            .unwrap()["totalResults"],
        1
    );
    let mut seen = 0;
    let mut target = "/Users?cursor=&count=10&filter=userName+co+%22u%22".to_owned();
    for _ in 0..10 {
        let body = h.call("GET", &target, None).await.json_body().unwrap();
        seen += body["Resources"].as_array().unwrap().len();
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => target = format!("/Users?cursor={next}&count=10&filter=userName+co+%22u%22"),
            None => break,
        }
    }
    assert_eq!(seen, 5);
}

#[tokio::test]
async fn tenant_isolation_on_every_endpoint_and_method() {
    let h = harness();
    let user = h.create_user("private@a.com").await;
    let uid = id_of(&user);
    let group = h.create_group("Private", &[&uid]).await;
    let gid = id_of(&group);
    let other = caller("t2", true);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
    for (method, target, body) in [
        ("GET", format!("/Users/{uid}"), None),
        ("PUT", format!("/Users/{uid}"), Some(json!({"userName": "x"}))),
        ("PATCH", format!("/Users/{uid}"), Some(patch.clone())),
        ("DELETE", format!("/Users/{uid}"), None),
        ("GET", format!("/Groups/{gid}"), None),
        ("PUT", format!("/Groups/{gid}"), Some(json!({"displayName": "x"}))),
        ("PATCH", format!("/Groups/{gid}"), Some(patch.clone())),
        ("DELETE", format!("/Groups/{gid}"), None),
    ] {
        let response = h.call_as(other.clone(), method, &target, body, &[]).await;
        assert_scim_error(&response, 404, None);
    }
    for target in [
        "/Users".to_owned(),
        "/Groups".to_owned(),
        "/Users?filter=userName+eq+%22private%40a.com%22".to_owned(),
        format!("/Users?filter=id+eq+%22{uid}%22"),
        format!("/Groups?filter=id+eq+%22{gid}%22+and+members+eq+%22{uid}%22"),
        "/Groups?filter=displayName+eq+%22Private%22".to_owned(),
        format!("/Groups?filter=members.value+eq+%22{uid}%22"),
    ] {
        let body = h
            .call_as(other.clone(), "GET", &target, None, &[])
            .await
            .json_body()
            .unwrap();
        assert_eq!(body["totalResults"], 0, "{target}");
    }
    for target in ["/Users/.search", "/Groups/.search", "/.search"] {
        let body = h
            .call_as(
                other.clone(),
                "POST",
                target,
                Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
                &[],
            )
            .await
            .json_body()
            .unwrap();
        assert_eq!(body["totalResults"], 0, "{target}");
    }
    // Tenant 2 may reuse the name, and cannot add tenant 1's user to its groups.
    h.call_as(
        other.clone(),
        "POST",
        "/Users",
        Some(json!({"userName": "private@a.com"})),
        &[],
    )
    .await;
    let response = h
        .call_as(
            other.clone(),
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": uid}]})),
            &[],
        )
        .await;
    assert_scim_error(&response, 400, Some("invalidValue"));
    // Tenant 1 is untouched.
    assert_eq!(
        h.call("GET", &format!("/Groups/{gid}"), None)
            .await
            .json_body()
            .unwrap()["members"][0]["value"],
        uid
    );
}

#[tokio::test]
async fn read_only_tokens_cannot_write() {
    let h = harness();
    let user = h.create_user("ro@x.com").await;
    let uid = id_of(&user);
    let reader = caller("t1", false);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []});
    for (method, target, body) in [
        ("POST", "/Users".to_owned(), Some(json!({"userName": "new"}))),
        ("POST", "/Groups".to_owned(), Some(json!({"displayName": "new"}))),
        ("PUT", format!("/Users/{uid}"), Some(json!({"userName": "x"}))),
        ("PATCH", format!("/Users/{uid}"), Some(patch)),
        ("DELETE", format!("/Users/{uid}"), None),
    ] {
        assert_scim_error(&h.call_as(reader.clone(), method, &target, body, &[]).await, 403, None);
    }
    assert_eq!(
        h.call_as(reader.clone(), "GET", &format!("/Users/{uid}"), None, &[])
            .await
            .status(),
        200
    );
    assert_eq!(
        h.call_as(reader.clone(), "POST", "/Users/.search", Some(json!({})), &[])
            .await
            .status(),
        200
    );
    assert_eq!(h.call_as(reader, "GET", "/Users", None, &[]).await.status(), 200);
}

#[tokio::test]
async fn discovery_endpoints_and_errors() {
    let h = harness();
    let spc = h.call("GET", "/ServiceProviderConfig", None).await.json_body().unwrap();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["pagination"]["maxPageSize"], 200);
    assert_eq!(spc["pagination"]["cursor"], true);
    // Nothing beyond the RFC document: strict clients reject unknown extension members here.
    assert_eq!(
        spc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    let types = h.call("GET", "/ResourceTypes", None).await.json_body().unwrap();
    assert_eq!(types["totalResults"], 2);
    assert_eq!(h.call("GET", "/ResourceTypes/User", None).await.status(), 200);
    assert_eq!(
        h.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", None)
            .await
            .status(),
        200
    );
    assert_scim_error(&h.call("GET", "/Schemas/urn:nope", None).await, 404, None);
    for (method, target) in [
        ("POST", "/ServiceProviderConfig"),
        ("DELETE", "/Schemas"),
        ("PUT", "/ResourceTypes/User"),
        ("DELETE", "/Users"),
        ("GET", "/.search"),
        ("POST", "/Users/abc"),
    ] {
        let response = h.call(method, target, Some(json!({}))).await;
        assert_scim_error(&response, 405, None);
        assert!(response.header("allow").is_some());
    }
    assert_scim_error(&h.call("GET", "/Nope", None).await, 404, None);
    assert_scim_error(&h.call("GET", "/Users/a/b", None).await, 404, None);

    // Bad input is a 4xx SCIM error, never a 500.
    let bad = raw_request("POST", "/Users", Some("text/plain"), b"{}".to_vec());
    assert_scim_error(&h.api.handle(&bad, caller("t1", true), BASE, None).await, 415, None);
    let json_post = |body: Vec<u8>| raw_request("POST", "/Users", Some("application/json; charset=utf-8"), body);
    let bad = json_post(b"{not json".to_vec());
    assert_scim_error(
        &h.api.handle(&bad, caller("t1", true), BASE, None).await,
        400,
        Some("invalidSyntax"),
    );
    let bad = json_post(vec![b' '; MAX_BODY_BYTES + 1]);
    assert_scim_error(&h.api.handle(&bad, caller("t1", true), BASE, None).await, 413, None);
    let bad = json_post(serde_json::to_vec(&json!({"userName": "x".repeat(600)})).unwrap());
    assert_scim_error(
        &h.api.handle(&bad, caller("t1", true), BASE, None).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?filter=userName+eq", None).await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?filter=nosuch+eq+%22x%22", None).await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?startIndex=abc", None).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &h.call("GET", "/Users?sortBy=nosuch", None).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &h.call("PATCH", "/Users/x", Some(json!({"Operations": [{"op": "jump"}]})))
            .await,
        400,
        Some("invalidSyntax"),
    );
    let response = h
        .call_as(caller("t1", true), "GET", "/Users", None, &[("Accept", "text/html")])
        .await;
    assert_scim_error(&response, 406, None);
    assert_scim_error(
        &h.call("GET", &format!("/Users/{}", "x".repeat(3000)), None).await,
        404,
        None,
    );
    let lookup = format!("/Users?filter=userName+eq+%22{}%22", "y".repeat(3000));
    assert_eq!(
        h.call("GET", &lookup, None).await.json_body().unwrap()["totalResults"],
        0
    );
}

#[tokio::test]
async fn every_write_is_audited() {
    let h = harness();
    let user = h.create_user("audited@x.com").await;
    let uid = id_of(&user);
    h.call("POST", "/Users", Some(json!({"userName": "audited@x.com"})))
        .await;
    h.call("DELETE", &format!("/Users/{uid}"), None).await;
    h.call_as(caller("t1", false), "DELETE", &format!("/Users/{uid}"), None, &[])
        .await;
    let events = h.audit.0.lock().unwrap().clone();
    let summary: Vec<(String, String)> = events.iter().map(|e| (e.action.clone(), e.outcome.clone())).collect();
    assert_eq!(
        summary,
        [
            ("scim.user.create".to_owned(), "201".to_owned()),
            ("scim.user.create".to_owned(), "409".to_owned()),
            ("scim.user.delete".to_owned(), "204".to_owned()),
            ("scim.user.delete".to_owned(), "403".to_owned()),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.tenant_id.as_deref() == Some("t1") && e.client_id.as_deref() == Some("client-t1"))
    );
    assert_eq!(events[0].resource_id.as_deref(), Some(uid.as_str()));
    assert_eq!(events[0].request_id.as_deref(), Some("req-1"));
    assert!(!serde_json::to_string(&events).unwrap().contains("password"));
}

#[tokio::test]
async fn storage_failure_is_503() {
    struct Down;
    #[async_trait::async_trait]
    impl DirectoryStore for Down {
        async fn create_user(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::UserRecord,
        ) -> crate::store::StoreResult<()> {
            Err(crate::store::DirectoryError::Unavailable("down".into()))
        }
        async fn get_user(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
        ) -> crate::store::StoreResult<Option<crate::store::UserRecord>> {
            Err(crate::store::DirectoryError::Unavailable("down".into()))
        }
        async fn replace_user(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::UserRecord,
            _: &crate::store::UserRecord,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn delete_user(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: Option<u64>,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn user_by_user_name(
            &self,
            _: &crate::store::TenantId,
            _: &str,
        ) -> crate::store::StoreResult<Option<crate::store::UserRecord>> {
            Err(crate::store::DirectoryError::Unavailable("down".into()))
        }
        async fn users_by_external_id(
            &self,
            _: &crate::store::TenantId,
            _: &str,
        ) -> crate::store::StoreResult<Vec<crate::store::UserRecord>> {
            unreachable!()
        }
        async fn users_by_work_email(
            &self,
            _: &crate::store::TenantId,
            _: &str,
        ) -> crate::store::StoreResult<Vec<crate::store::UserRecord>> {
            unreachable!()
        }
        async fn scan_users(
            &self,
            _: &crate::store::TenantId,
            _: Option<&str>,
            _: usize,
        ) -> crate::store::StoreResult<crate::store::Page<crate::store::UserRecord>> {
            unreachable!()
        }
        async fn groups_of_user(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
        ) -> crate::store::StoreResult<Vec<ResourceId>> {
            unreachable!()
        }
        async fn create_group(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::GroupRecord,
            _: &[crate::store::ResourceId],
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn get_group(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
        ) -> crate::store::StoreResult<Option<crate::store::GroupRecord>> {
            unreachable!()
        }
        async fn get_group_with_members(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: usize,
        ) -> crate::store::StoreResult<Option<(crate::store::GroupRecord, crate::store::Page<ResourceId>)>> {
            unreachable!()
        }
        async fn group_with_membership(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: &crate::store::ResourceId,
        ) -> crate::store::StoreResult<Option<(crate::store::GroupRecord, bool)>> {
            unreachable!()
        }
        async fn get_groups(
            &self,
            _: &crate::store::TenantId,
            _: &[crate::store::ResourceId],
        ) -> crate::store::StoreResult<Vec<crate::store::GroupRecord>> {
            unreachable!()
        }
        async fn replace_group(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::GroupRecord,
            _: &crate::store::GroupRecord,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn delete_group(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: Option<u64>,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn groups_by_display_name(
            &self,
            _: &crate::store::TenantId,
            _: &str,
        ) -> crate::store::StoreResult<Vec<crate::store::GroupRecord>> {
            unreachable!()
        }
        async fn groups_by_external_id(
            &self,
            _: &crate::store::TenantId,
            _: &str,
        ) -> crate::store::StoreResult<Vec<crate::store::GroupRecord>> {
            unreachable!()
        }
        async fn scan_groups(
            &self,
            _: &crate::store::TenantId,
            _: Option<&str>,
            _: usize,
        ) -> crate::store::StoreResult<crate::store::Page<crate::store::GroupRecord>> {
            unreachable!()
        }
        async fn list_members(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: Option<&str>,
            _: usize,
        ) -> crate::store::StoreResult<crate::store::Page<ResourceId>> {
            unreachable!()
        }
        async fn add_members(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: &[crate::store::ResourceId],
            _: Option<u64>,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn remove_members(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: &[crate::store::ResourceId],
            _: Option<u64>,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
        async fn remove_all_members(
            &self,
            _: &crate::store::TenantId,
            _: &crate::store::ResourceId,
            _: Option<u64>,
        ) -> crate::store::StoreResult<()> {
            unreachable!()
        }
    }
    let service = DirectoryService::new(
        Arc::new(Down),
        Arc::new(RecordingAudit::default()),
        Arc::new(FixedClock::at(0)),
        ServiceConfig::default(),
    );
    let api = ScimApi::new(service);
    let request = raw_request("GET", "/Users?filter=userName+eq+%22a%22", None, Vec::new());
    assert_scim_error(&api.handle(&request, caller("t1", true), BASE, None).await, 503, None);
    let request = raw_request("POST", "/Users", None, br#"{"userName":"a"}"#.to_vec());
    assert_scim_error(&api.handle(&request, caller("t1", true), BASE, None).await, 503, None);
}

// ---- POST /Bulk (RFC 7644 §3.7) ----

fn bulk_body(fail_on_errors: Option<u64>, operations: Value) -> Value {
    let mut body = json!({"schemas": [crate::bulk::BULK_REQUEST_SCHEMA], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    body
}

fn bulk_user(bulk_id: &str, manager: Option<&str>) -> Value {
    let mut data = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": bulk_id});
    if let Some(manager) = manager {
        data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"manager": {"value": manager}});
    }
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
}

fn statuses(answer: &Value) -> Vec<String> {
    answer["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn bulk_resolves_forward_references_and_audits_each_operation() {
    let h = harness();
    let body = bulk_body(
        None,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {
                "displayName": "team", "members": [{"value": "bulkId:alice"}, {"value": "bulkId:bob"}]}},
            bulk_user("alice", Some("bulkId:bob")),
            bulk_user("bob", None),
            {"method": "PATCH", "path": "/Users/bulkId:alice", "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Alice"}]}},
        ]),
    );
    let response = h.call("POST", "/Bulk", Some(body)).await;
    assert_eq!(response.status(), 200);
    let answer = response.json_body().unwrap();
    assert_eq!(answer["schemas"][0], crate::bulk::BULK_RESPONSE_SCHEMA);
    assert_eq!(statuses(&answer), ["201", "201", "201", "200"]);
    let ops = answer["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["bulkId"], "team");
    let location = |i: usize| ops[i]["location"].as_str().unwrap().to_owned();
    let id = |i: usize| location(i).rsplit('/').next().unwrap().to_owned();
    assert!(location(1).starts_with(&format!("{BASE}/Users/")));
    let group = h
        .call("GET", &format!("/Groups/{}", id(0)), None)
        .await
        .json_body()
        .unwrap();
    let mut members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut expected = [id(1), id(2)];
    expected.sort();
    assert_eq!(members, expected);
    let alice = h
        .call("GET", &format!("/Users/{}", id(1)), None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(
        alice["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        id(2)
    );
    assert_eq!(alice["displayName"], "Alice");
    let actions: Vec<String> = h.audit.0.lock().unwrap().iter().map(|e| e.action.clone()).collect();
    assert_eq!(
        actions,
        [
            "scim.user.create",
            "scim.user.create",
            "scim.group.create",
            "scim.user.patch"
        ]
    );
}

#[tokio::test]
async fn bulk_operations_fail_alone_or_stop_at_fail_on_errors() {
    let h = harness();
    h.create_user("taken").await;
    let operations = json!([
        bulk_user("taken", None),
        {"method": "GET", "path": "/Users"},
        bulk_user("fresh", None),
        {"method": "PATCH", "path": "/Users/bulkId:nobody", "data": {"Operations": []}},
    ]);
    let all = h
        .call("POST", "/Bulk", Some(bulk_body(None, operations.clone())))
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&all), ["409", "400", "201", "400"]);
    assert_eq!(all["Operations"][0]["response"]["scimType"], "uniqueness");
    assert_eq!(
        all["Operations"][1]["response"]["schemas"][0],
        crate::error::ERROR_SCHEMA
    );

    let h = harness();
    h.create_user("taken").await;
    let stopped = h
        .call("POST", "/Bulk", Some(bulk_body(Some(1), operations)))
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&stopped), ["409"]);
    let fresh = h
        .call("GET", "/Users?filter=userName+eq+%22fresh%22", None)
        .await
        .json_body()
        .unwrap();
    assert_eq!(fresh["totalResults"], 0, "nothing after the failOnErrors limit runs");
}

#[tokio::test]
async fn bulk_checks_scope_tenant_and_version_per_operation() {
    let h = harness();
    let theirs = id_of(&h.create_user("theirs").await);
    let read_only = h
        .call_as(
            caller("t1", false),
            "POST",
            "/Bulk",
            Some(bulk_body(None, json!([bulk_user("a", None)]))),
            &[],
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&read_only), ["403"]);
    let other_tenant = h
        .call_as(
            caller("t2", true),
            "POST",
            "/Bulk",
            Some(bulk_body(
                None,
                json!([{"method": "DELETE", "path": format!("/Users/{theirs}")}]),
            )),
            &[],
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&other_tenant), ["404"]);
    let stale = json!([{"method": "DELETE", "path": format!("/Users/{theirs}"), "version": "W/\"99\""}]);
    let answer = h
        .call("POST", "/Bulk", Some(bulk_body(None, stale)))
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&answer), ["412"]);
    let delete = json!([{"method": "DELETE", "path": format!("/Users/{theirs}")}]);
    let answer = h
        .call("POST", "/Bulk", Some(bulk_body(None, delete)))
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&answer), ["204"]);
}

#[tokio::test]
async fn bulk_limits_are_advertised_and_enforced_with_413() {
    let h = harness_with(ServiceConfig {
        password_iterations: 1_000,
        bulk: crate::bulk::BulkLimits {
            max_operations: 2,
            max_payload_bytes: 600,
        },
        ..ServiceConfig::default()
    });
    let config = h.call("GET", "/ServiceProviderConfig", None).await.json_body().unwrap();
    assert_eq!(
        config["bulk"],
        json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 600})
    );
    let three = bulk_body(
        None,
        json!([bulk_user("a", None), bulk_user("b", None), bulk_user("c", None)]),
    );
    let response = h.call("POST", "/Bulk", Some(three)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.json_body().unwrap()["scimType"], "tooMany");
    let padded = json!([{"method": "POST", "path": "/Users", "bulkId": "p", "data": {"userName": "x".repeat(700)}}]);
    let response = h.call("POST", "/Bulk", Some(bulk_body(None, padded))).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.json_body().unwrap()["scimType"], "tooMany");
    assert_eq!(h.call("GET", "/Bulk", None).await.status(), 405);
    let users = h.call("GET", "/Users", None).await.json_body().unwrap();
    assert_eq!(users["totalResults"], 0, "a refused Bulk request writes nothing");
}

#[tokio::test]
async fn bulk_operations_past_the_time_budget_answer_503_unrun() {
    let h = harness_with(ServiceConfig {
        password_iterations: 1_000,
        bulk_time_budget: std::time::Duration::ZERO,
        ..ServiceConfig::default()
    });
    let answer = h
        .call(
            "POST",
            "/Bulk",
            Some(bulk_body(None, json!([bulk_user("a", None), bulk_user("b", None)]))),
        )
        .await
        .json_body()
        .unwrap();
    assert_eq!(statuses(&answer), ["503", "503"]);
    let users = h.call("GET", "/Users", None).await.json_body().unwrap();
    assert_eq!(users["totalResults"], 0);
}

// ---- What Microsoft's SCIM Postman collection sends that is harmless to accept ----

#[tokio::test]
async fn postman_collection_leniencies() {
    let h = harness();
    let alias = h.call("GET", "/serviceConfiguration", None).await;
    assert_eq!(alias.status(), 200);
    assert_eq!(alias.json_body().unwrap()["patch"]["supported"], true);
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "pm",
        "emails": [{"type": "work", "value": "emailName357@example.com"}], "displayName": "PM"});
    assert_eq!(h.call("POST", "/Users", Some(body)).await.status(), 201);
    for attributes in [
        "emails%5Btype+eq+%22work%22%5D",
        "emails%5Bvalue+eq+%22emailName357%22%5D",
    ] {
        let response = h.call("GET", &format!("/Users?attributes={attributes}"), None).await;
        assert_eq!(response.status(), 200, "{attributes}");
        let user = &response.json_body().unwrap()["Resources"][0];
        assert_eq!(user["emails"][0]["value"], "emailName357@example.com");
        assert!(user.get("displayName").is_none(), "only emails (and id) are returned");
    }
    let after = h
        .call(
            "GET",
            "/Users?filter=meta.Created+gt+2015-10-10T14:38:21.8617979-07:00",
            None,
        )
        .await;
    assert_eq!(after.status(), 200, "{}", after.body());
    assert_eq!(after.json_body().unwrap()["totalResults"], 1);
    let before = h
        .call("GET", "/Users?filter=meta.created+lt+2015-10-10T14:38:21Z", None)
        .await;
    assert_eq!(before.json_body().unwrap()["totalResults"], 0);
}
