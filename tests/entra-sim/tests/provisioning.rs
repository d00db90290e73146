//! The provisioning engine over real loopback HTTP: request shapes byte for byte against a recording
//! Entra-tolerant server, both dialects, idempotency, token renewal, Test Connection, bounded concurrency,
//! and full cycles of the sample directory against python's scim2-server.

mod support;

use std::sync::atomic::Ordering;

use entra_sim::provision::{Compat, Dialect, ProvisionOptions, Provisioner, RemovalAction};
use entra_sim::{Credentials, Directory, Identity, JwksServer, TokenVersion, sample};
use serde_json::Value;
use support::{MiniScim, Recorded, STATIC_TOKEN, Scim2Server};

const PATCH: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":"#;

fn small_directory() -> Directory {
    Directory::from_json(
        r#"{"users":[
            {"userName":"ann@contoso.com","externalId":"ann","displayName":"Ann Lee",
             "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@contoso.com","type":"work","primary":true}],
             "title":"CTO","department":"R&D","employeeNumber":"1"},
            {"userName":"bob@contoso.com","externalId":"bob","displayName":"Bob Ray","title":"Engineer","manager":"ann"},
            {"userName":"cy@contoso.com","externalId":"cy","displayName":"Cy Dee","manager":"ann"},
            {"userName":"dee@contoso.com","externalId":"dee","displayName":"Dee Old"}
          ],
          "groups":[{"displayName":"Sales Team","externalId":"g-sales","members":["ann","bob","dee"]}]}"#,
    )
    .expect("directory")
}

/// Cycle 3 input: Bob promoted (title Replace) and reports to Cy; Cy loses the manager and is disabled;
/// Dee leaves the company (deleted); Bob leaves Sales; Cy joins; the group is renamed.
fn changed_directory() -> Directory {
    Directory::from_json(
        r#"{"users":[
            {"userName":"ann@contoso.com","externalId":"ann","displayName":"Ann Lee",
             "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@contoso.com","type":"work","primary":true}],
             "title":"CTO","department":"R&D","employeeNumber":"1"},
            {"userName":"bob@contoso.com","externalId":"bob","displayName":"Bob Ray","title":"Senior Engineer","manager":"cy"},
            {"userName":"cy@contoso.com","externalId":"cy","displayName":"Cy Dee","active":false}
          ],
          "groups":[{"displayName":"Sales & Marketing","externalId":"g-sales","members":["ann","cy"]}]}"#,
    )
    .expect("directory")
}

fn writes(recorded: &[Recorded]) -> Vec<(String, String, String)> {
    recorded
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.clone(), r.target.clone(), r.body.clone()))
        .collect()
}

fn id_of(server: &MiniScim, user_name: &str) -> String {
    server.user_by_name(user_name).expect("user")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn provisioner(url: &str, dialect: Dialect) -> Provisioner {
    Provisioner::new(
        ProvisionOptions::new(url).dialect(dialect),
        Credentials::Static(STATIC_TOKEN.into()),
    )
    .expect("provisioner")
}

#[tokio::test]
async fn default_dialect_sends_entras_requests_and_a_second_cycle_only_reads() {
    let server = MiniScim::start().await;
    let mut p = provisioner(&server.scim_url(), Dialect::Default);

    let first = p.run_cycle(&small_directory()).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    assert_eq!((first.users.created, first.groups.created), (4, 1));
    assert_eq!((first.managers_changed, first.memberships_added), (2, 3));
    let recorded = server.recorded();
    assert!(
        recorded
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer static-test-token"))
    );
    assert!(
        recorded
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.content_type.as_deref() == Some("application/scim+json"))
    );
    let lookup = recorded.iter().find(|r| r.method == "GET").expect("lookup");
    assert!(
        lookup.target.starts_with("/Users?filter=userName+eq+%22"),
        "{}",
        lookup.target
    );
    let ann_create = recorded
        .iter()
        .find(|r| r.method == "POST" && r.body.contains("\"ann@contoso.com\""))
        .expect("create ann");
    assert_eq!(
        ann_create.body,
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"ann","userName":"ann@contoso.com","active":true,"displayName":"Ann Lee","emails":[{"primary":true,"type":"work","value":"ann@contoso.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"Ann Lee","familyName":"Lee","givenName":"Ann"},"title":"CTO","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1","department":"R&D"},"roles":[]}"#
    );
    let ann = id_of(&server, "ann@contoso.com");
    let bob = id_of(&server, "bob@contoso.com");
    let dee = id_of(&server, "dee@contoso.com");
    let manager_patch = recorded
        .iter()
        .find(|r| r.method == "PATCH" && r.target == format!("/Users/{bob}"))
        .expect("manager patch");
    assert_eq!(
        manager_patch.body,
        format!(
            r#"{PATCH}[{{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"{ann}"}}]}}"#
        )
    );
    let group_create = recorded
        .iter()
        .find(|r| r.method == "POST" && r.target == "/Groups")
        .expect("group");
    assert_eq!(
        group_create.body,
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"g-sales","displayName":"Sales Team","meta":{"resourceType":"Group"}}"#
    );
    let group = server.group_by_name("Sales Team").expect("group");
    let gid = group["id"].as_str().expect("gid").to_string();
    let add = recorded
        .iter()
        .find(|r| r.target == format!("/Groups/{gid}"))
        .expect("member add");
    assert_eq!(
        add.body,
        format!(
            r#"{PATCH}[{{"op":"Add","path":"members","value":[{{"value":"{ann}"}},{{"value":"{bob}"}},{{"value":"{dee}"}}]}}]}}"#
        )
    );
    let lookup_group = recorded
        .iter()
        .find(|r| r.target.starts_with("/Groups?"))
        .expect("group lookup");
    assert_eq!(
        lookup_group.target,
        "/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+Team%22"
    );

    // Cycle 2, same file: reads only.
    server.clear_recorded();
    let second = p.run_cycle(&small_directory()).await.expect("cycle 2");
    assert!(second.is_clean(), "{}", second.summary());
    assert_eq!(second.users.unchanged, 4);
    assert_eq!(second.groups.unchanged, 1);
    assert_eq!(second.changes(), 0);
    assert_eq!(second.writes(), 0, "{:?}", second.requests_by_kind);
    assert!(writes(&server.recorded()).is_empty());
    // Known objects are read by id, the group without its members.
    let reads: Vec<String> = server.recorded().iter().map(|r| r.target.clone()).collect();
    assert!(reads.contains(&format!("/Users/{ann}")));
    assert!(reads.contains(&format!("/Groups/{gid}?excludedAttributes=members")));

    // Cycle 3: changes.
    server.clear_recorded();
    let third = p.run_cycle(&changed_directory()).await.expect("cycle 3");
    assert!(third.is_clean(), "{}", third.summary());
    assert_eq!(
        (
            third.users.updated,
            third.users.disabled,
            third.users.deleted,
            third.users.unchanged
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        (third.groups.updated, third.memberships_added, third.memberships_removed),
        (1, 1, 1)
    );
    let cy = id_of(&server, "cy@contoso.com");
    let w = writes(&server.recorded());
    let find = |target: &str, needle: &str| {
        w.iter()
            .find(|(_, t, b)| t == target && b.contains(needle))
            .map(|(_, _, b)| b.clone())
            .unwrap_or_else(|| panic!("no write to {target} containing {needle}: {w:#?}"))
    };
    assert_eq!(
        find(&format!("/Users/{bob}"), "title"),
        format!(r#"{PATCH}[{{"op":"Replace","path":"title","value":"Senior Engineer"}}]}}"#)
    );
    assert_eq!(
        find(&format!("/Users/{bob}"), "manager"),
        format!(
            r#"{PATCH}[{{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"{cy}"}}]}}"#
        )
    );
    assert_eq!(
        find(&format!("/Users/{cy}"), "active"),
        format!(r#"{PATCH}[{{"op":"Replace","path":"active","value":"False"}}]}}"#)
    );
    assert_eq!(
        find(&format!("/Users/{cy}"), "manager"),
        format!(r#"{PATCH}[{{"op":"Remove","path":"manager[value eq \"{ann}\"]"}}]}}"#)
    );
    assert_eq!(
        find(&format!("/Groups/{gid}"), "displayName"),
        format!(r#"{PATCH}[{{"op":"Replace","path":"displayName","value":"Sales & Marketing"}}]}}"#)
    );
    assert_eq!(
        find(&format!("/Groups/{gid}"), "Remove"),
        format!(r#"{PATCH}[{{"op":"Remove","path":"members","value":[{{"value":"{bob}"}}]}}]}}"#)
    );
    assert_eq!(
        find(&format!("/Groups/{gid}"), "Add"),
        format!(r#"{PATCH}[{{"op":"Add","path":"members","value":[{{"value":"{cy}"}}]}}]}}"#)
    );
    assert!(w.contains(&("DELETE".into(), format!("/Users/{dee}"), String::new())));
    // Membership was checked before changing it, in Entra's filter shape.
    let checks: Vec<String> = server
        .recorded()
        .iter()
        .filter(|r| r.target.contains("members+eq"))
        .map(|r| r.target.clone())
        .collect();
    assert!(checks.contains(&format!(
        "/Groups?excludedAttributes=members&filter=id+eq+%22{gid}%22+and+members+eq+%22{cy}%22"
    )));
    // Deleted users are not unlinked one by one: the DELETE drops their memberships on the server.
    assert!(!checks.iter().any(|c| c.contains(&dee)));

    // The server ends up as the file says, and a fourth cycle changes nothing.
    let renamed = server.group_by_name("Sales & Marketing").expect("renamed");
    let members: Vec<&str> = renamed["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .map(|s| {
            if s == ann {
                "ann"
            } else if s == cy {
                "cy"
            } else {
                s
            }
        })
        .collect();
    assert_eq!(members, ["ann", "cy"]);
    assert!(server.user_by_name("dee@contoso.com").is_none());
    let fourth = p.run_cycle(&changed_directory()).await.expect("cycle 4");
    assert_eq!((fourth.changes(), fourth.writes()), (0, 0), "{}", fourth.summary());
}

#[tokio::test]
async fn aadoptscim062020_dialect_uses_lowercase_ops_booleans_and_member_value_filters() {
    let server = MiniScim::start().await;
    let mut p = provisioner(&server.scim_url(), Dialect::AadOptscim062020);
    p.run_cycle(&small_directory()).await.expect("cycle 1");
    server.clear_recorded();
    let report = p.run_cycle(&changed_directory()).await.expect("cycle 2");
    assert!(report.is_clean(), "{}", report.summary());
    let (ann, bob, cy) = (
        id_of(&server, "ann@contoso.com"),
        id_of(&server, "bob@contoso.com"),
        id_of(&server, "cy@contoso.com"),
    );
    let gid = server.group_by_name("Sales & Marketing").expect("group")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let w = writes(&server.recorded());
    let bodies: Vec<&str> = w.iter().map(|(_, _, b)| b.as_str()).collect();
    let expect = [
        format!(r#"{PATCH}[{{"op":"replace","value":{{"title":"Senior Engineer"}}}}]}}"#),
        format!(r#"{PATCH}[{{"op":"replace","path":"active","value":false}}]}}"#),
        format!(
            r#"{PATCH}[{{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"{cy}"}}]}}"#
        ),
        format!(r#"{PATCH}[{{"op":"remove","path":"manager[value eq \"{ann}\"]"}}]}}"#),
        format!(r#"{PATCH}[{{"op":"replace","value":{{"displayName":"Sales & Marketing"}}}}]}}"#),
        format!(r#"{PATCH}[{{"op":"remove","path":"members[value eq \"{bob}\"]"}}]}}"#),
        format!(r#"{PATCH}[{{"op":"add","path":"members","value":[{{"value":"{cy}"}}]}}]}}"#),
    ];
    for e in &expect {
        assert!(bodies.contains(&e.as_str()), "missing {e}\nsent: {bodies:#?}");
    }
    assert!(w.iter().any(|(m, t, _)| m == "DELETE" && t.starts_with("/Users/")));
    let _ = gid;
}

#[tokio::test]
async fn removal_mode_disable_soft_deletes_once() {
    let server = MiniScim::start().await;
    let mut p = Provisioner::new(
        ProvisionOptions::new(server.scim_url()).removal(RemovalAction::Disable),
        Credentials::Static(STATIC_TOKEN.into()),
    )
    .expect("provisioner");
    p.run_cycle(&small_directory()).await.expect("cycle 1");
    let r = p.run_cycle(&changed_directory()).await.expect("cycle 2");
    assert_eq!((r.users.deleted, r.users.disabled), (0, 2), "{}", r.summary());
    assert_eq!(server.user_by_name("dee@contoso.com").expect("kept")["active"], false);
    let again = p.run_cycle(&changed_directory()).await.expect("cycle 3");
    assert_eq!(again.writes(), 0, "{}", again.summary());
}

#[tokio::test]
async fn wif_credentials_renew_the_access_token_after_a_401_mid_cycle() {
    let server = MiniScim::start().await;
    let jwks = JwksServer::start(Identity::random().expect("identity"))
        .await
        .expect("jwks");
    *server.jwks.lock().expect("lock") = Some(jwks.identity().jwks(TokenVersion::V2));
    let credentials = Credentials::client_assertion(
        server.token_url(),
        Some("client-123".into()),
        jwks.identity(),
        TokenVersion::V2,
    )
    .expect("credentials");
    let mut p = Provisioner::new(ProvisionOptions::new(server.scim_url()), credentials).expect("provisioner");
    let first = p.run_cycle(&small_directory()).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    assert_eq!(first.token_requests, 1);
    let form = server.token_forms.lock().expect("lock")[0].clone();
    assert!(form.starts_with(
        "grant_type=client_credentials&client_id=client-123&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=ey"
    ));
    assert!(form.ends_with("&scope=scim"));

    server.expire_tokens();
    let second = p.run_cycle(&small_directory()).await.expect("cycle 2");
    assert!(second.is_clean(), "{}", second.summary());
    assert_eq!(
        second.token_requests, 1,
        "one renewal shared by all concurrent requests"
    );
    assert_eq!(server.tokens_issued(), 2);
    let rejected = server
        .recorded()
        .iter()
        .filter(|r| r.authorization.as_deref() == Some("Bearer wif_at_test_1"))
        .count();
    assert!(rejected >= 1);

    // Each token request carried a fresh assertion.
    let forms = server.token_forms.lock().expect("lock").clone();
    assert_ne!(forms[0], forms[1]);
}

#[tokio::test]
async fn a_failing_token_request_fails_the_cycle_with_the_oauth_error() {
    let server = MiniScim::start().await;
    // JWKS of another tenant: the token endpoint rejects the signature.
    *server.jwks.lock().expect("lock") = Some(Identity::random().expect("other").jwks(TokenVersion::V2));
    let identity = Identity::random().expect("identity");
    let credentials =
        Credentials::client_assertion(server.token_url(), None, identity, TokenVersion::V2).expect("credentials");
    let mut p = Provisioner::new(ProvisionOptions::new(server.scim_url()), credentials).expect("provisioner");
    let err = p.run_cycle(&small_directory()).await.expect_err("no token");
    assert_eq!(
        err.to_string(),
        "token endpoint answered 401: invalid_client (signature)"
    );
    let report = p.test_connection().await;
    assert!(!report.passed());
    assert!(report.render().contains("FAIL token"), "{}", report.render());
}

#[tokio::test]
async fn test_connection_queries_a_random_user_and_reports_each_step() {
    let server = MiniScim::start().await;
    let p = provisioner(&server.scim_url(), Dialect::Default);
    let report = p.test_connection().await;
    assert!(report.passed(), "{}", report.render());
    let targets: Vec<String> = server.recorded().iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets.len(), 2);
    let guid = targets[0]
        .strip_prefix("/Users?filter=userName+eq+%22")
        .and_then(|t| t.strip_suffix("%22"))
        .expect("Entra's Test Connection query");
    assert!(uuid::Uuid::parse_str(guid).is_ok(), "{guid}");
    assert!(targets[1].starts_with("/Groups?excludedAttributes=members&filter=displayName+eq+%22"));

    server.lookups_404.store(true, Ordering::SeqCst);
    let failed = p.test_connection().await;
    assert!(!failed.passed());
    let text = failed.render();
    assert!(
        text.contains("FAIL GET /Users?filter=userName+eq+") && text.contains("HTTP 404"),
        "{text}"
    );
    assert!(text.ends_with("Test Connection: FAIL\n"));
}

/// A user who leaves a group while its own update fails in that cycle is still unlinked: by the id an earlier
/// cycle recorded, not forgotten until the user's next successful update.
#[tokio::test]
async fn a_user_whose_update_fails_still_leaves_its_group() {
    let server = MiniScim::start().await;
    let base = sample::generate(40);
    let mut p = provisioner(&server.scim_url(), Dialect::Default);
    let first = p.run_cycle(&base).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    let mut changed = base.clone();
    let leaver = changed.users[30].clone();
    changed.users[30].title = Some("Departing".into());
    let reference = leaver.external_id.clone().expect("externalId");
    changed.groups[0].members.retain(|m| *m != reference);
    let leaver_id = server.user_by_name(&leaver.user_name).expect("provisioned")["id"].clone();
    // The group it stays in (its department's team) must keep it throughout.
    let team = format!("{} Team", leaver.department.clone().expect("department"));
    let is_member = |server: &MiniScim, group: &str| {
        let group = server.group_by_name(group).expect("group");
        group["members"]
            .as_array()
            .is_some_and(|members| members.iter().any(|m| m["value"] == leaver_id))
    };
    let left = changed.groups[0].display_name.clone();
    assert!(is_member(&server, &left) && is_member(&server, &team));

    server.user_patches_503.store(true, Ordering::SeqCst);
    let failed = p.run_cycle(&changed).await.expect("cycle 2");
    assert!(
        failed.errors.iter().any(|e| e.status == Some(503)),
        "{}",
        failed.summary()
    );
    assert!(is_member(&server, &team), "removed from a group it is still listed in");
    server.user_patches_503.store(false, Ordering::SeqCst);
    let retried = p.run_cycle(&changed).await.expect("cycle 3");
    assert!(retried.is_clean(), "{}", retried.summary());
    assert!(!is_member(&server, &left), "the leaver is still a member");
    assert!(is_member(&server, &team), "removed from a group it is still listed in");
    let rerun = p.run_cycle(&changed).await.expect("cycle 4");
    assert_eq!(rerun.writes(), 0, "{}", rerun.summary());
}

#[tokio::test]
async fn concurrency_is_bounded_and_used() {
    let server = MiniScim::start().await;
    server.delay_ms.store(20, Ordering::SeqCst);
    let dir = sample::generate(40);
    let mut p = Provisioner::new(
        ProvisionOptions::new(server.scim_url()).concurrency(3),
        Credentials::Static(STATIC_TOKEN.into()),
    )
    .expect("provisioner");
    let r = p.run_cycle(&dir).await.expect("cycle");
    assert!(r.is_clean(), "{}", r.summary());
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_sample_directory_round_trips_through_the_entra_tolerant_server() {
    let server = MiniScim::start().await;
    let base = sample::generate(300);
    let (changed, expected) = sample::changed(&base);
    let mut p = provisioner(&server.scim_url(), Dialect::Default);
    let first = p.run_cycle(&base).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    assert_eq!((first.users.created, first.groups.created), (300, 10));
    // 250 members go out in batches of 100.
    assert!(first.requests_by_kind["PATCH /Groups/{id} add members"] >= 3);
    let again = p.run_cycle(&base).await.expect("cycle 2");
    assert_eq!((again.changes(), again.writes()), (0, 0), "{}", again.summary());
    let third = p.run_cycle(&changed).await.expect("cycle 3");
    assert!(third.is_clean(), "{}", third.summary());
    assert_eq!(third.users.updated, expected.users_updated, "{}", third.summary());
    assert_eq!(third.users.disabled, expected.users_disabled);
    assert_eq!(third.users.deleted, expected.users_deleted);
    assert_eq!(third.groups.updated, expected.groups_updated);
    assert_eq!(third.groups.deleted, expected.groups_deleted);
    assert_eq!(third.memberships_added, expected.memberships_added);
    assert_eq!(third.memberships_removed, expected.memberships_removed);
    let fourth = p.run_cycle(&changed).await.expect("cycle 4");
    assert_eq!((fourth.changes(), fourth.writes()), (0, 0), "{}", fourth.summary());
}

/// Fixes scim2-server needs: it rejects Entra's raw-string manager and the ADSCIM group URN.
fn scim2_provisioner(server: &Scim2Server, dialect: Dialect) -> Provisioner {
    Provisioner::new(
        ProvisionOptions::new(server.url.clone())
            .dialect(dialect)
            .compat(Compat::strict_rfc())
            .concurrency(4),
        Credentials::Static(server.token.clone()),
    )
    .expect("provisioner")
}

#[tokio::test]
async fn scim2_server_sample_cycles_in_the_aadoptscim062020_dialect_are_exact_and_idempotent() {
    let Some(server) = Scim2Server::start().await else {
        return;
    };
    let base = sample::generate(300);
    let (changed, expected) = sample::changed(&base);
    let mut p = scim2_provisioner(&server, Dialect::AadOptscim062020);

    let connection = p.test_connection().await;
    assert!(connection.passed(), "{}", connection.render());

    let first = p.run_cycle(&base).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    let memberships: usize = base.groups.iter().map(|g| g.members.len()).sum();
    assert_eq!(
        (first.users.created, first.groups.created, first.memberships_added),
        (300, 10, memberships as u64)
    );
    eprintln!("scim2-server initial cycle:\n{}", first.summary());

    let second = p.run_cycle(&base).await.expect("cycle 2");
    assert!(second.is_clean(), "{}", second.summary());
    assert_eq!((second.users.unchanged, second.groups.unchanged), (300, 10));
    assert_eq!(second.writes(), 0, "{}", second.summary());
    eprintln!("scim2-server idempotent cycle:\n{}", second.summary());

    let third = p.run_cycle(&changed).await.expect("cycle 3");
    assert!(third.is_clean(), "{}", third.summary());
    assert_eq!(third.users.updated, expected.users_updated, "{}", third.summary());
    assert_eq!(third.users.disabled, expected.users_disabled);
    assert_eq!(third.users.deleted, expected.users_deleted);
    assert_eq!(
        (third.groups.updated, third.groups.deleted),
        (expected.groups_updated, expected.groups_deleted)
    );
    assert_eq!(
        (third.memberships_added, third.memberships_removed),
        (expected.memberships_added, expected.memberships_removed)
    );

    // What the server now holds matches the file: spot-check through plain SCIM reads.
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let token = server.token.clone();
        async move {
            http.get(path)
                .bearer_auth(token)
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let disabled = changed
        .users
        .iter()
        .find(|u| !u.active && u.title.is_some())
        .expect("a disabled user");
    let found = get(format!(
        "{}/Users?filter=userName+eq+%22{}%22",
        server.url,
        disabled.user_name.replace('@', "%40")
    ))
    .await;
    assert_eq!(found["Resources"][0]["active"], false);
    let renamed = get(format!(
        "{}/Groups?filter=displayName+eq+%22People+Managers%22",
        server.url
    ))
    .await;
    assert_eq!(renamed["totalResults"], 1);
    let all_staff = get(format!("{}/Groups?filter=displayName+eq+%22All+Staff%22", server.url)).await;
    let members = all_staff["Resources"][0]["members"].as_array().map(Vec::len);
    assert_eq!(members, Some(changed.groups[0].members.len()));

    let fourth = p.run_cycle(&changed).await.expect("cycle 4");
    assert_eq!((fourth.changes(), fourth.writes()), (0, 0), "{}", fourth.summary());
}

#[tokio::test]
async fn scim2_server_rejects_entras_default_member_removal_and_the_cycle_reports_it() {
    let Some(server) = Scim2Server::start().await else {
        return;
    };
    let mut p = scim2_provisioner(&server, Dialect::Default);
    let first = p.run_cycle(&small_directory()).await.expect("cycle 1");
    assert!(first.is_clean(), "{}", first.summary());
    assert_eq!(p.run_cycle(&small_directory()).await.expect("cycle 2").writes(), 0);
    let third = p.run_cycle(&changed_directory()).await.expect("cycle 3");
    // Everything but the default dialect's `Remove members` with a value list went through.
    assert_eq!(third.errors.len(), 1, "{}", third.summary());
    assert_eq!(third.errors[0].operation, "PATCH /Groups/{id} remove members");
    assert_eq!(third.errors[0].status, Some(400));
    assert_eq!(
        (third.users.updated, third.users.disabled, third.users.deleted),
        (1, 1, 1)
    );
    assert_eq!(third.groups.errors, 1);
}
