//! The admin API against the running local stack: every operation, every validation error, secrets over HTTP,
//! the connection test with a healthy and a failing JWKS, and audit queries.

use std::collections::BTreeSet;

use e2e_tests::admin::{Customer, admin, admin_ok, stack};
use entra_sim::{Outage, TokenVersion};
use serde_json::{Value, json};

fn unique_tenant(label: &str) -> String {
    format!("e2e-{label}-{}", uuid::Uuid::new_v4().simple())
}

fn actions(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_operation_on_one_registration() {
    let Some(stack) = stack() else { return };
    let tenant = unique_tenant("ops");
    let customer = Customer::register_with(&stack, TokenVersion::V2, json!({ "tenant_id": tenant })).await;
    let id = customer.client_id.clone();
    let created = &customer.registration;
    assert_eq!(created["version"], 1);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["wif_enabled"], true);
    assert_eq!(created["secrets_enabled"], false);
    assert_eq!(created["token_url"], stack.token_url.as_str());
    assert_eq!(created["scim_url"], stack.scim_url.as_str());

    // get
    let fetched = admin_ok(&stack, "GET", &format!("/clients/{id}"), None, 200).await;
    assert_eq!(&fetched, created);

    // list, paged and filtered by tenant
    let other = Customer::register_with(&stack, TokenVersion::V1, json!({ "tenant_id": tenant })).await;
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut path = format!("/clients?tenant_id={tenant}&limit=1");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = admin_ok(&stack, "GET", &path, None, 200).await;
        let clients = page["clients"].as_array().expect("clients");
        assert!(clients.len() <= 1, "{page}");
        for client in clients {
            assert_eq!(client["tenant_id"], tenant.as_str());
            seen.insert(client["client_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, BTreeSet::from([id.clone(), other.client_id.clone()]));
    let unfiltered = admin_ok(&stack, "GET", "/clients?limit=100", None, 200).await;
    assert!(!unfiltered["clients"].as_array().unwrap().is_empty());

    // update, optimistic
    let updated = admin_ok(
        &stack,
        "PATCH",
        &format!("/clients/{id}"),
        Some(
            &json!({ "version": 1, "display_name": "Contoso (e2e)", "scopes": ["scim.read"],
                      "token_lifetime_seconds": 7200 }),
        ),
        200,
    )
    .await;
    assert_eq!(
        (updated["version"].as_u64(), updated["display_name"].as_str()),
        (Some(2), Some("Contoso (e2e)"))
    );
    assert_eq!(updated["scopes"], json!(["scim.read"]));
    assert_eq!(updated["token_lifetime_seconds"], 7200);
    let (status, conflict, _) = admin(
        &stack,
        "PATCH",
        &format!("/clients/{id}"),
        Some(&json!({ "version": 1, "display_name": "stale" })),
    )
    .await;
    assert_eq!((status, conflict["error"].as_str()), (409, Some("version_conflict")));

    // disable / enable (version-checked)
    let (status, _, _) = admin(&stack, "POST", &format!("/clients/{id}/disable?version=1"), None).await;
    assert_eq!(status, 409);
    let disabled = admin_ok(&stack, "POST", &format!("/clients/{id}/disable?version=2"), None, 200).await;
    assert_eq!(
        (disabled["enabled"].as_bool(), disabled["version"].as_u64()),
        (Some(false), Some(3))
    );
    let enabled = admin_ok(&stack, "POST", &format!("/clients/{id}/enable"), None, 200).await;
    assert_eq!(
        (enabled["enabled"].as_bool(), enabled["version"].as_u64()),
        (Some(true), Some(4))
    );

    // revoke-tokens (it moves the version: a token being issued at that moment must fail its conditional write)
    let revoked = admin_ok(&stack, "POST", &format!("/clients/{id}/revoke-tokens"), None, 200).await;
    assert_eq!(revoked["client_id"], id.as_str());
    assert!(revoked["revoked_tokens"].is_u64());

    // test
    let report = admin_ok(&stack, "GET", &format!("/clients/{id}/test"), None, 200).await;
    assert_eq!(report["ok"], true, "{report:#}");

    // delete (version-checked), then gone
    let (status, _, _) = admin(&stack, "DELETE", &format!("/clients/{id}?version=1"), None).await;
    assert_eq!(status, 409);
    let deleted = admin_ok(&stack, "DELETE", &format!("/clients/{id}?version=5"), None, 200).await;
    assert_eq!(deleted["deleted"], true);
    for (method, path) in [
        ("GET", format!("/clients/{id}")),
        ("DELETE", format!("/clients/{id}")),
        ("PATCH", format!("/clients/{id}")),
        ("POST", format!("/clients/{id}/enable")),
        ("POST", format!("/clients/{id}/revoke-tokens")),
        ("GET", format!("/clients/{id}/test")),
        ("GET", format!("/clients/{id}/secrets")),
    ] {
        let body = (method == "PATCH").then(|| json!({ "version": 4, "display_name": "x" }));
        let (status, body, _) = admin(&stack, method, &path, body.as_ref()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }

    // Every change is in the audit trail, attributed to the caller.
    let audit = admin_ok(
        &stack,
        "GET",
        &format!("/audit?client_id={id}&order=asc&limit=50"),
        None,
        200,
    )
    .await;
    let mut recorded = actions(&audit);
    recorded.sort();
    let mut expected: Vec<String> = [
        "admin.client.create",
        "admin.client.update",
        "admin.client.disable",
        "admin.client.enable",
        "admin.client.revoke_tokens",
        "admin.client.delete",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    expected.sort();
    assert_eq!(recorded, expected, "{audit:#}");
    for event in audit["events"].as_array().unwrap() {
        assert_eq!(event["actor"], "local-developer");
        assert_eq!(event["tenant_id"], tenant.as_str());
        assert_eq!(event["category"], "admin");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_validation_error_is_a_400_naming_the_field() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = &customer.client_id;
    let valid = customer.registration["federated_credentials"][0].clone();
    let with = |changes: Value| {
        let mut body = json!({
            "issuer": valid["issuer"], "jwks_uri": valid["jwks_uri"],
            "subject": valid["subject"], "audience": valid["audiences"][0],
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    let secret = admin_ok(&stack, "POST", &format!("/clients/{id}/secrets"), None, 201).await;
    let secret_id = secret["secret_id"].as_str().unwrap();

    let cases: Vec<(&str, String, Option<Value>, &str)> = vec![
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "issuer": null }))),
            "issuer: is required",
        ),
        (
            "POST",
            "/clients".into(),
            // Only an Entra issuer's JWKS URL can be discovered.
            Some(with(
                json!({ "jwks_uri": null, "issuer": "https://issuer.example.com/" }),
            )),
            "jwks_uri: is required",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "subject": null }))),
            "subject: is required",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "audience": null }))),
            "audience: is required",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(
                json!({ "jwks_uri": "http://login.microsoftonline.com/t/discovery/keys" }),
            )),
            "jwks_uri: must use https",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "jwks_uri": "https://keys.example.net/jwks" }))),
            "jwks_uri: host keys.example.net is not on the JWKS host allow-list",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "jwks_uri": "not a url" }))),
            "jwks_uri: must not contain whitespace",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "subject": " padded" }))),
            "subject: must not start or end with whitespace",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "audience": "" }))),
            "audience: must not be empty",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "issuer": "https://sts.windows.net/x/\n" }))),
            "issuer: must not start or end with whitespace",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "scopes": ["scim", "admin"] }))),
            "scopes: unknown scope \"admin\"",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "scopes": [] }))),
            "scopes: must not be empty",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "token_lifetime_seconds": 60 }))),
            "token_lifetime_seconds: must be between",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "allowed_algorithms": ["HS256"] }))),
            "allowed_algorithms: unsupported algorithm \"HS256\"",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "allowed_algorithms": ["none"] }))),
            "allowed_algorithms: unsupported algorithm \"none\"",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "tenant_id": "a#b" }))),
            "tenant_id: may contain only",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "expected_tid": "" }))),
            "expected_tid: must not be empty",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "display_name": "" }))),
            "display_name: must not be empty",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "admin": true }))),
            "body: unknown field `admin`",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "wif_enabled": false }))),
            "wif_enabled: at least one client authentication method",
        ),
        (
            "POST",
            "/clients".into(),
            Some(with(json!({ "secrets_enabled": "yes" }))),
            "secrets_enabled: must be true or false",
        ),
        (
            "POST",
            "/clients".into(),
            Some(json!(["not", "an", "object"])),
            "body: must be a JSON object",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            Some(json!({ "display_name": "x" })),
            "version: is required",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            Some(json!({ "version": 2 })),
            "no field to update",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            Some(json!({ "version": 2, "token_lifetime_seconds": 99999 })),
            "token_lifetime_seconds: must be between",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            Some(json!({ "version": 2, "wif_enabled": false, "secrets_enabled": false })),
            "wif_enabled: at least one",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            Some(json!({ "version": 2, "jwks_uri": "https://evil.example/keys" })),
            "jwks_uri: host evil.example",
        ),
        (
            "PATCH",
            format!("/clients/{id}"),
            // A federated client's issuer is fixed (only a secrets-only client may set one to turn WIF on).
            Some(json!({ "version": 2, "issuer": "https://other/" })),
            "issuer: cannot be changed",
        ),
        (
            "GET",
            "/clients?limit=0".into(),
            None,
            "limit: must be between 1 and 100",
        ),
        (
            "GET",
            "/clients?limit=abc".into(),
            None,
            "limit: must be a non-negative integer",
        ),
        ("GET", "/clients?cursor=bogus".into(), None, "cursor:"),
        (
            "DELETE",
            format!("/clients/{id}?version=x"),
            None,
            "version: must be a non-negative integer",
        ),
        (
            "POST",
            format!("/clients/{id}/disable?version=-1"),
            None,
            "version: must be a non-negative integer",
        ),
        (
            "POST",
            format!("/clients/{id}/secrets"),
            Some(json!({ "expires_in_days": 30 })),
            "expires_in_days: must be between 365 and 1095",
        ),
        (
            "POST",
            format!("/clients/{id}/secrets"),
            Some(json!({ "expires_in_days": 5000 })),
            "expires_in_days: must be between 365 and 1095",
        ),
        (
            "POST",
            format!("/clients/{id}/secrets"),
            Some(json!({ "description": "" })),
            "description: must not be empty",
        ),
        (
            "POST",
            format!("/clients/{id}/secrets"),
            Some(json!({ "client_secret": "chosen-by-me" })),
            "body: unknown field `client_secret`",
        ),
        (
            "DELETE",
            format!("/clients/{id}/secrets/{secret_id}?revoke_tokens=yes"),
            None,
            "revoke_tokens: must be true or false",
        ),
        (
            "GET",
            "/audit".into(),
            None,
            "tenant_id: tenant_id or client_id is required",
        ),
        (
            "GET",
            "/audit?tenant_id=t&from=yesterday".into(),
            None,
            "from: must be Unix seconds or an RFC 3339",
        ),
        (
            "GET",
            "/audit?tenant_id=t&from=200&to=100".into(),
            None,
            "from: must not be after to",
        ),
        (
            "GET",
            "/audit?tenant_id=t&limit=0".into(),
            None,
            "limit: must be an integer between 1 and 500",
        ),
        (
            "GET",
            "/audit?tenant_id=t&order=sideways".into(),
            None,
            "order: must be asc or desc",
        ),
        (
            "GET",
            "/audit?tenant_id=t&cursor=forged".into(),
            None,
            "cursor: is not a cursor this query returned",
        ),
    ];
    for (method, path, body, prefix) in cases {
        let (status, answer, headers) = admin(&stack, method, &path, body.as_ref()).await;
        assert_eq!(status, 400, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{method} {path}: {answer}");
        let description = answer["error_description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with(prefix),
            "{method} {path}: {description:?} does not start with {prefix:?}"
        );
        assert_eq!(headers["content-type"], "application/json");
    }

    // Malformed bodies, wrong media types and sizes, unknown resources and methods: JSON errors, never a 500.
    let raw = |method: &str, path: &str, content_type: &str, body: Vec<u8>| {
        let url = format!("{}{path}", e2e_tests::admin::admin_base(&stack));
        let request = e2e_tests::admin::http()
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("content-type", content_type.to_owned())
            .body(body);
        async move {
            let response = request.send().await.expect("admin reachable");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = raw("POST", "/clients", "application/json", b"{not json".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    assert!(body["error_description"].as_str().unwrap().starts_with("body:"));
    let (status, body) = raw("POST", "/clients", "text/plain", b"{}".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("invalid_request")));
    let (status, _) = raw("POST", "/clients", "application/json", vec![b' '; 70 * 1024]).await;
    assert_eq!(status, 413);
    let (status, body) = raw("GET", "/nothing-here", "application/json", Vec::new()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = raw("PUT", "/clients", "application/json", Vec::new()).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")));
    let (status, _) = raw("POST", &format!("/clients/{id}/test"), "application/json", Vec::new()).await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_created_once_listed_without_values_and_revoked() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V2).await;
    let id = &customer.client_id;
    let path = format!("/clients/{id}/secrets");

    let (status, first, headers) = admin(&stack, "POST", &path, Some(&json!({ "description": "first" }))).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(headers["cache-control"], "no-store");
    let first_value = first["client_secret"].as_str().unwrap().to_owned();
    assert!(first_value.starts_with("wif_cs_") && first_value.len() == 50);
    let days = (first["expires_at"].as_i64().unwrap() - first["created_at"].as_i64().unwrap()) / 86_400;
    assert_eq!(days, 365);
    assert_eq!(first["secrets_enabled"], true);
    let second = admin_ok(
        &stack,
        "POST",
        &path,
        Some(&json!({ "description": "second", "expires_in_days": 1095 })),
        201,
    )
    .await;
    let (status, third, _) = admin(&stack, "POST", &path, None).await;
    assert_eq!((status, third["error"].as_str()), (409, Some("conflict")));
    let message = third["error_description"].as_str().unwrap();
    assert!(message.contains("already has 2 active secrets"), "{message}");
    assert!(message.contains(first["secret_id"].as_str().unwrap()), "{message}");

    let listed = admin_ok(&stack, "GET", &path, None, 200).await;
    assert_eq!(
        (listed["active"].as_u64(), listed["max_active"].as_u64()),
        (Some(2), Some(2))
    );
    let text = listed.to_string();
    assert!(!text.contains(&first_value) && !text.contains(second["client_secret"].as_str().unwrap()));
    assert!(!text.contains("hash"), "{text}");
    let client = admin_ok(&stack, "GET", &format!("/clients/{id}"), None, 200).await;
    assert_eq!(client["secrets_enabled"], true);
    assert_eq!(client["secrets"].as_array().unwrap().len(), 2);
    assert!(!client.to_string().contains(&first_value));

    let first_id = first["secret_id"].as_str().unwrap();
    let revoked = admin_ok(&stack, "DELETE", &format!("{path}/{first_id}"), None, 200).await;
    assert_eq!(revoked["revoked"], true);
    let (status, gone, _) = admin(&stack, "DELETE", &format!("{path}/{first_id}"), None).await;
    assert_eq!((status, gone["error"].as_str()), (404, Some("not_found")));
    // A slot is free again.
    admin_ok(&stack, "POST", &path, None, 201).await;

    let audit = admin_ok(&stack, "GET", &format!("/audit?client_id={id}"), None, 200).await;
    let recorded = actions(&audit);
    assert_eq!(
        recorded.iter().filter(|a| *a == "admin.secret.create").count(),
        3,
        "{audit:#}"
    );
    assert_eq!(recorded.iter().filter(|a| *a == "admin.secret.revoke").count(), 1);
    assert!(!audit.to_string().contains(&first_value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_test_reports_each_check_and_a_jwks_outage() {
    let Some(stack) = stack() else { return };
    let customer = Customer::register(&stack, TokenVersion::V1).await;
    let path = format!("/clients/{}/test", customer.client_id);
    let report = admin_ok(&stack, "GET", &path, None, 200).await;
    assert_eq!(report["ok"], true, "{report:#}");
    for name in [
        "registration",
        "enabled",
        "auth_methods",
        "jwks_url_policy",
        "jwks_reachable",
        "jwks_keys",
        "keys_cache",
    ] {
        assert_eq!(check(&report, name)["ok"], true, "{name}: {report:#}");
    }
    assert_eq!(check(&report, "client_secrets")["skipped"], true);
    let kid = customer.jwks.identity().signing_kid().to_owned();
    assert!(
        check(&report, "jwks_keys")["detail"].as_str().unwrap().contains(&kid),
        "{report:#}"
    );

    customer.jwks.set_outage(Outage::Unavailable);
    let report = admin_ok(&stack, "GET", &path, None, 200).await;
    customer.jwks.set_outage(Outage::Off);
    assert_eq!(report["ok"], false);
    let reachable = check(&report, "jwks_reachable");
    assert_eq!(reachable["ok"], false);
    assert!(reachable["detail"].as_str().unwrap().contains("503"), "{reachable}");
    assert_eq!(check(&report, "jwks_keys")["ok"], false);

    // A disabled secrets-only client: the JWKS is not consulted, the missing secret and the state are reported.
    let id = &customer.client_id;
    admin_ok(
        &stack,
        "PATCH",
        &format!("/clients/{id}"),
        Some(&json!({ "version": 1, "wif_enabled": false, "secrets_enabled": true })),
        200,
    )
    .await;
    admin_ok(&stack, "POST", &format!("/clients/{id}/disable"), None, 200).await;
    let report = admin_ok(&stack, "GET", &path, None, 200).await;
    assert_eq!(report["ok"], false);
    assert_eq!(check(&report, "enabled")["ok"], false);
    assert_eq!(check(&report, "jwks_reachable")["skipped"], true);
    assert_eq!(check(&report, "client_secrets")["ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_queries_page_by_tenant_and_client_newest_first() {
    let Some(stack) = stack() else { return };
    let tenant = unique_tenant("audit");
    let a = Customer::register_with(&stack, TokenVersion::V2, json!({ "tenant_id": tenant })).await;
    let b = Customer::register_with(&stack, TokenVersion::V2, json!({ "tenant_id": tenant })).await;
    for version in 1..=3 {
        admin_ok(
            &stack,
            "PATCH",
            &format!("/clients/{}", a.client_id),
            Some(&json!({ "version": version, "display_name": format!("rename {version}") })),
            200,
        )
        .await;
    }
    // 2 creates + 3 updates in the tenant; page through it two at a time, newest first.
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut path = format!("/audit?tenant_id={tenant}&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = admin_ok(&stack, "GET", &path, None, 200).await;
        let batch = page["events"].as_array().unwrap().clone();
        assert!(batch.len() <= 2);
        events.extend(batch);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(events.len(), 5, "{events:#?}");
    let times: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    assert!(events.iter().all(|e| e["tenant_id"] == tenant.as_str()));

    let ascending = admin_ok(
        &stack,
        "GET",
        &format!("/audit?tenant_id={tenant}&order=asc"),
        None,
        200,
    )
    .await;
    let times: Vec<i64> = ascending["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let of_b = admin_ok(&stack, "GET", &format!("/audit?client_id={}", b.client_id), None, 200).await;
    assert_eq!(actions(&of_b), vec!["admin.client.create"]);
    let both = admin_ok(
        &stack,
        "GET",
        &format!("/audit?client_id={}&tenant_id={tenant}", a.client_id),
        None,
        200,
    )
    .await;
    assert_eq!(both["events"].as_array().unwrap().len(), 4);
    let elsewhere = admin_ok(
        &stack,
        "GET",
        &format!("/audit?client_id={}&tenant_id=someone-else", a.client_id),
        None,
        200,
    )
    .await;
    assert_eq!(elsewhere["events"], json!([]));

    // Time range: nothing in the far future; everything since a minute ago (RFC 3339 and Unix seconds).
    let empty = admin_ok(
        &stack,
        "GET",
        &format!("/audit?tenant_id={tenant}&from=4102444800"),
        None,
        200,
    )
    .await;
    assert_eq!(empty["events"], json!([]));
    let since = times[0] - 60;
    let recent = admin_ok(
        &stack,
        "GET",
        &format!("/audit?tenant_id={tenant}&from={since}&to=4102444800"),
        None,
        200,
    )
    .await;
    assert_eq!(recent["events"].as_array().unwrap().len(), 5);
    let rfc = admin_ok(
        &stack,
        "GET",
        &format!("/audit?tenant_id={tenant}&to=2000-01-01T00:00:00Z"),
        None,
        200,
    )
    .await;
    assert_eq!(rfc["events"], json!([]));

    // A cursor of this tenant does not open another tenant's partition.
    let page = admin_ok(&stack, "GET", &format!("/audit?tenant_id={tenant}&limit=1"), None, 200).await;
    let cursor = page["next_cursor"].as_str().expect("more pages");
    let (status, body, _) = admin(
        &stack,
        "GET",
        &format!("/audit?tenant_id=other-{tenant}&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
}
