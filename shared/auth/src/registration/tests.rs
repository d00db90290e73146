use super::discovery::resolve;
use super::*;
use crate::testing::StaticJwksFetcher;

const TID: &str = "966ac572-f5b7-4bbe-aa88-c76419c0f851";
const OTHER_TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn request() -> RegistrationRequest {
    RegistrationRequest {
        issuer: Some(format!("https://login.microsoftonline.com/{TID}/v2.0")),
        jwks_uri: Some(format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys")),
        subject: Some("fbd13a0e-0a74-477d-953a-9f4b520a0e8e".into()),
        audience: Some("api://f407babd-8d0f-4afc-a6e7-46f28612670b".into()),
        ..Default::default()
    }
}

fn credential(issuer: &str, subject: &str, audiences: &[&str]) -> CredentialRequest {
    CredentialRequest {
        issuer: Some(issuer.into()),
        subject: Some(subject.into()),
        audiences: Some(audiences.iter().map(|a| (*a).to_owned()).collect()),
        ..Default::default()
    }
}

fn error_of(request: &RegistrationRequest) -> String {
    request
        .validate(&RegistrationPolicy::default())
        .unwrap_err()
        .to_string()
}

fn v1(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

fn v2(tid: &str) -> String {
    format!("https://login.microsoftonline.com/{tid}/v2.0")
}

#[test]
fn defaults_are_applied() {
    let valid = request().validate(&RegistrationPolicy::default()).unwrap();
    assert_eq!(valid.allowed_scopes, Scope::DEFAULT.to_vec());
    assert_eq!(valid.token_lifetime_seconds, 3600);
    assert_eq!(valid.allowed_algorithms, vec!["RS256"]);
    let [draft] = valid.credentials.as_slice() else {
        panic!("one credential")
    };
    assert_eq!(draft.expected_tid.as_deref(), Some(TID));
    assert_eq!(draft.audiences, vec!["api://f407babd-8d0f-4afc-a6e7-46f28612670b"]);
    assert!(valid.warnings().is_empty());
}

#[test]
fn the_shorthand_takes_audience_and_audiences_together_without_duplicates() {
    let mut r = request();
    r.audiences = Some(vec![
        "f407babd-8d0f-4afc-a6e7-46f28612670b".into(),
        "api://f407babd-8d0f-4afc-a6e7-46f28612670b".into(),
        "api://f407babd-8d0f-4afc-a6e7-46f28612670b/scim.example.com".into(),
    ]);
    let valid = r.validate(&RegistrationPolicy::default()).unwrap();
    assert_eq!(
        valid.credentials[0].audiences,
        vec![
            "api://f407babd-8d0f-4afc-a6e7-46f28612670b",
            "f407babd-8d0f-4afc-a6e7-46f28612670b",
            "api://f407babd-8d0f-4afc-a6e7-46f28612670b/scim.example.com"
        ]
    );
    r.audience = None;
    assert_eq!(
        r.validate(&RegistrationPolicy::default()).unwrap().credentials[0]
            .audiences
            .len(),
        3
    );
    r.audiences = Some(vec![]);
    assert_eq!(error_of(&r), "audience: is required");
    r.audiences = Some(vec!["api://x".into(), " api://y".into()]);
    assert_eq!(error_of(&r), "audiences[1]: must not start or end with whitespace");
    r.audiences = Some((0..11).map(|i| format!("api://a{i}")).collect());
    assert_eq!(error_of(&r), "audiences: at most 10 audiences per credential");
}

#[test]
fn several_credentials_go_in_the_list_and_never_beside_the_shorthand() {
    let sub = "fbd13a0e-0a74-477d-953a-9f4b520a0e8e";
    let list = RegistrationRequest {
        federated_credentials: Some(vec![
            credential(&v1(TID), sub, &["api://app"]),
            credential(&v2(TID), sub, &["api://app", "app"]),
        ]),
        ..Default::default()
    };
    let valid = list.validate(&RegistrationPolicy::default()).unwrap();
    assert_eq!(valid.credentials.len(), 2);
    assert_eq!(valid.credentials[0].field_prefix, "federated_credentials[0].");
    // Entra issuers may leave out the JWKS URL: it is discovered.
    assert_eq!(
        valid.credentials[0].jwks,
        JwksSource::Discover {
            discovery_url: format!("https://login.microsoftonline.com/{TID}/.well-known/openid-configuration")
        }
    );
    assert_eq!(
        valid.credentials[1].jwks,
        JwksSource::Discover {
            discovery_url: format!("https://login.microsoftonline.com/{TID}/v2.0/.well-known/openid-configuration")
        }
    );
    let mut both = list.clone();
    both.audience = Some("api://x".into());
    assert!(error_of(&both).starts_with("federated_credentials: cannot be combined with issuer"));
    let mut twins = list.clone();
    twins.federated_credentials = Some(vec![
        credential(&v2(TID), sub, &["api://a"]),
        credential(&v2(TID), sub, &["api://b"]),
    ]);
    assert!(error_of(&twins).starts_with("federated_credentials[1].subject: another credential"));
    let mut tenants = list.clone();
    tenants.federated_credentials = Some(vec![
        credential(&v2(TID), sub, &["api://a"]),
        credential(&v2(OTHER_TID), sub, &["api://a"]),
    ]);
    assert!(
        error_of(&tenants).starts_with(&format!(
            "federated_credentials[1].issuer: names Entra tenant {OTHER_TID}, but federated_credentials[0].issuer names \
             tenant {TID}"
        )),
        "{}",
        error_of(&tenants)
    );
    let mut empty = list.clone();
    empty.federated_credentials = Some(vec![]);
    assert!(error_of(&empty).starts_with("federated_credentials: must not be empty"));
    let mut bad = list.clone();
    bad.federated_credentials = Some(vec![credential(&v2(TID), " padded", &["api://a"])]);
    assert_eq!(
        error_of(&bad),
        "federated_credentials[0].subject: must not start or end with whitespace"
    );
}

#[test]
fn credentials_and_trusts_are_bounded() {
    let many = |credentials: usize, audiences: usize| RegistrationRequest {
        federated_credentials: Some(
            (0..credentials)
                .map(|i| {
                    let auds: Vec<String> = (0..audiences).map(|a| format!("api://app{a}")).collect();
                    let auds: Vec<&str> = auds.iter().map(String::as_str).collect();
                    credential(&v2(TID), &format!("sub-{i}"), &auds)
                })
                .collect(),
        ),
        ..Default::default()
    };
    assert!(many(20, 2).validate(&RegistrationPolicy::default()).is_ok());
    assert!(error_of(&many(21, 1)).starts_with("federated_credentials: at most 20 federated credentials"));
    assert!(error_of(&many(20, 3)).starts_with("federated_credentials: at most 40 audiences across all credentials"));
}

#[test]
fn secrets_only_clients_may_leave_out_every_credential_but_not_part_of_one() {
    let policy = RegistrationPolicy::default();
    let bare = RegistrationRequest {
        display_name: Some("App-gallery customer".into()),
        ..Default::default()
    };
    assert!(bare.validate_with(&policy, false).unwrap().credentials.is_empty());
    assert_eq!(bare.validate(&policy).unwrap_err().to_string(), "issuer: is required");
    let partial = RegistrationRequest {
        issuer: request().issuer,
        ..Default::default()
    };
    assert_eq!(
        partial.validate_with(&policy, false).unwrap_err().to_string(),
        "subject: is required"
    );
    let mut full = request();
    full.audience = Some(" api://x".into());
    assert!(
        full.validate_with(&policy, false)
            .unwrap_err()
            .to_string()
            .starts_with("audience:")
    );
    assert!(request().validate_with(&policy, false).is_ok());
}

#[test]
fn entra_issuers_that_no_token_carries_are_refused_with_the_right_value() {
    let cases = [
        (
            format!("https://sts.windows.net/{TID}"),
            format!("issuer: a v1 issuer ends with a slash: https://sts.windows.net/{TID}/"),
        ),
        (
            format!("https://login.microsoftonline.com/{TID}"),
            format!(
                "issuer: no Entra token carries this issuer: v2 tokens carry {}",
                v2(TID)
            ),
        ),
        (
            format!("https://login.microsoftonline.com/{TID}/"),
            format!(
                "issuer: no Entra token carries this issuer: v2 tokens carry {}",
                v2(TID)
            ),
        ),
        (
            format!("https://login.microsoftonline.com/{TID}/v2.0/"),
            format!("issuer: a v2 issuer has no trailing slash: {}", v2(TID)),
        ),
        (
            format!("https://login.windows.net/{TID}/v2.0"),
            format!(
                "issuer: Entra never writes login.windows.net into a token's iss: v2 tokens carry {}",
                v2(TID)
            ),
        ),
        (
            format!("https://Login.MicrosoftOnline.com/{TID}/v2.0"),
            format!("issuer: Entra writes the host in lower case: {}", v2(TID)),
        ),
        (
            "https://login.microsoftonline.com/common/v2.0".to_owned(),
            "issuer: an Entra issuer names the customer's tenant by its id".to_owned(),
        ),
        (
            format!("https://sts.windows.net/{TID}/v2.0"),
            format!("issuer: v1 issuers are exactly https://sts.windows.net/{TID}/"),
        ),
    ];
    for (issuer, expected) in cases {
        let mut r = request();
        r.issuer = Some(issuer.clone());
        let error = error_of(&r);
        assert!(error.starts_with(&expected), "{issuer}: {error}");
    }
    for (issuer, login) in [
        (v1(TID), "login.microsoftonline.com"),
        (
            format!("https://login.microsoftonline.us/{TID}/v2.0"),
            "login.microsoftonline.us",
        ),
        (format!("https://sts.chinacloudapi.cn/{TID}/"), "login.chinacloudapi.cn"),
    ] {
        let parsed = entra::parse_entra_issuer(&issuer).unwrap().unwrap();
        assert_eq!((parsed.tenant_id.as_str(), parsed.login_host), (TID, login), "{issuer}");
    }
    assert_eq!(entra::parse_entra_issuer("https://issuer.example/tenant"), Ok(None));
}

#[test]
fn an_entra_jwks_url_of_another_tenant_is_refused_and_a_version_mix_up_warned() {
    let mut r = request();
    r.jwks_uri = Some(format!("https://login.windows.net/{OTHER_TID}/discovery/v2.0/keys"));
    assert_eq!(
        error_of(&r),
        format!(
            "jwks_uri: names tenant {OTHER_TID}, but the issuer names tenant {TID}; both must be the customer's tenant"
        )
    );
    // Microsoft's harness guide: issuer without /v2.0 (refused above) and this JWKS URL, which is fine.
    r.jwks_uri = Some(format!("https://login.windows.net/{TID}/discovery/v2.0/keys"));
    assert!(
        r.validate(&RegistrationPolicy::default())
            .unwrap()
            .warnings()
            .is_empty()
    );
    r.jwks_uri = Some(format!("https://login.microsoftonline.com/{TID}/discovery/keys"));
    let warnings = r.validate(&RegistrationPolicy::default()).unwrap().warnings();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("jwks_uri: is the v1 key URL for a v2 issuer"),
        "{warnings:?}"
    );
    r.jwks_uri = Some("https://login.microsoftonline.com/common/discovery/v2.0/keys".into());
    assert!(
        r.validate(&RegistrationPolicy::default())
            .unwrap()
            .warnings()
            .is_empty()
    );
}

#[test]
fn a_jwks_url_is_required_for_other_issuers_and_a_discovery_host_must_be_allowed() {
    let mut r = request();
    r.issuer = Some("https://issuer.example/".into());
    r.jwks_uri = None;
    assert!(error_of(&r).starts_with("jwks_uri: is required (it may be left out only for an Entra issuer"));
    let mut r = request();
    r.jwks_uri = None;
    let draft = &r.validate(&RegistrationPolicy::default()).unwrap().credentials[0];
    assert!(
        matches!(&draft.jwks, JwksSource::Discover { discovery_url } if discovery_url.contains("/v2.0/.well-known"))
    );
}

#[test]
fn audiences_with_the_scope_suffix_and_tids_of_another_tenant_are_refused() {
    let mut r = request();
    r.audience = Some("api://f407babd-8d0f-4afc-a6e7-46f28612670b/.default".into());
    assert!(
        error_of(&r).starts_with("audience: /.default is the suffix of a token request's scope"),
        "{}",
        error_of(&r)
    );
    let mut r = request();
    r.expected_tid = Some(OTHER_TID.into());
    assert!(error_of(&r).starts_with(&format!(
        "expected_tid: {OTHER_TID} differs from the tenant in the issuer"
    )));
    let mut custom = request();
    custom.issuer = Some("https://issuer.example/".into());
    custom.expected_tid = Some("custom-tid".into());
    assert_eq!(
        custom.validate(&RegistrationPolicy::default()).unwrap().credentials[0]
            .expected_tid
            .as_deref(),
        Some("custom-tid")
    );
    custom.expected_tid = None;
    assert_eq!(
        custom.validate(&RegistrationPolicy::default()).unwrap().credentials[0].expected_tid,
        None
    );
}

/// A change to the sample request and the error it must cause.
type Case = (Box<dyn Fn(&mut RegistrationRequest)>, &'static str);

#[test]
fn every_field_error_names_its_field() {
    let cases: Vec<Case> = vec![
        (Box::new(|r| r.issuer = None), "issuer: is required"),
        (
            Box::new(|r| r.subject = Some(" fbd13a0e ".into())),
            "subject: must not start or end with whitespace",
        ),
        (
            Box::new(|r| r.audience = Some(String::new())),
            "audience: must not be empty",
        ),
        (
            Box::new(|r| r.audience = Some("api://a\u{7}b".into())),
            "audience: must not contain control characters",
        ),
        (
            Box::new(|r| r.issuer = Some("x".repeat(MAX_ISSUER_LEN + 1))),
            "issuer: must be at most 2048 bytes",
        ),
        (
            Box::new(|r| r.jwks_uri = Some("http://login.microsoftonline.com/keys".into())),
            "jwks_uri: must use https",
        ),
        (
            Box::new(|r| r.jwks_uri = Some("https://evil.example/keys".into())),
            "jwks_uri: host evil.example is not on the JWKS host allow-list",
        ),
        (
            Box::new(|r| r.jwks_uri = Some("https://user@login.microsoftonline.com/keys".into())),
            "jwks_uri: must not contain user information",
        ),
        (
            Box::new(|r| r.jwks_uri = Some("https://login.microsoftonline.com/keys#frag".into())),
            "jwks_uri: must not contain a fragment",
        ),
        (Box::new(|r| r.scopes = Some(vec![])), "scopes: must not be empty"),
        (
            Box::new(|r| r.token_lifetime_seconds = Some(60)),
            "token_lifetime_seconds: must be between 3600 and 21600",
        ),
        (
            Box::new(|r| r.expected_tid = Some("".into())),
            "expected_tid: must not be empty",
        ),
    ];
    for (change, expected) in cases {
        let mut r = request();
        change(&mut r);
        assert_eq!(error_of(&r), expected);
    }
    let prefixed: Vec<Case> = vec![
        (
            Box::new(|r| r.scopes = Some(vec!["scim".into(), "admin".into()])),
            "scopes: unknown scope \"admin\"",
        ),
        (
            Box::new(|r| r.allowed_algorithms = Some(vec!["HS256".into()])),
            "allowed_algorithms: unsupported algorithm \"HS256\"",
        ),
        (
            Box::new(|r| r.allowed_algorithms = Some(vec!["none".into()])),
            "allowed_algorithms: unsupported algorithm \"none\"",
        ),
        (
            Box::new(|r| r.tenant_id = Some("a#b".into())),
            "tenant_id: may contain only",
        ),
    ];
    for (change, expected) in prefixed {
        let mut r = request();
        change(&mut r);
        assert!(error_of(&r).starts_with(expected), "{}", error_of(&r));
    }
}

#[test]
fn loopback_jwks_only_in_local_development() {
    let mut r = request();
    r.issuer = Some("https://issuer.example/".into());
    r.jwks_uri = Some("http://127.0.0.1:8900/keys".into());
    assert_eq!(
        error_of(&r),
        "jwks_uri: may use http only for a loopback host in local development"
    );
    let policy = RegistrationPolicy {
        local_development: true,
        ..Default::default()
    };
    assert_eq!(
        r.validate(&policy).unwrap().credentials[0].jwks,
        JwksSource::Given("http://127.0.0.1:8900/keys".into())
    );
}

#[test]
fn explicit_values_are_kept_and_deduplicated() {
    let mut r = request();
    r.scopes = Some(vec!["scim.read".into(), "scim.read".into()]);
    r.allowed_algorithms = Some(vec!["PS256".into(), "RS256".into(), "PS256".into()]);
    r.token_lifetime_seconds = Some(7200);
    let valid = r.validate(&RegistrationPolicy::default()).unwrap();
    assert_eq!(valid.allowed_scopes, vec![Scope::ScimRead]);
    assert_eq!(valid.allowed_algorithms, vec!["PS256", "RS256"]);
    assert_eq!(valid.token_lifetime_seconds, 7200);
}

#[test]
fn unknown_json_fields_are_rejected() {
    let err = serde_json::from_str::<RegistrationRequest>(r#"{"issuer":"x","admin":true}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `admin`"));
    let err = serde_json::from_str::<RegistrationRequest>(r#"{"federated_credentials":[{"issuer":"x","aud":"y"}]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `aud`"), "{err}");
}

#[test]
fn an_item_in_the_shape_before_credentials_reads_as_one_credential_with_its_markers_pending() {
    let legacy = serde_json::json!({
        "client_id": "c1", "tenant_id": "t1", "issuer": v1(TID),
        "jwks_uri": format!("https://login.microsoftonline.com/{TID}/discovery/keys"),
        "subject": "sub-1", "audience": "api://app", "expected_tid": TID,
        "allowed_scopes": ["scim"], "token_lifetime_seconds": 3600, "allowed_algorithms": ["RS256"],
        "enabled": true, "version": 4, "created_at": 10, "updated_at": 20
    });
    let registration: Registration = serde_json::from_value(legacy).unwrap();
    assert!(registration.markers_pending && registration.wif_enabled && !registration.secrets_enabled);
    let [credential] = registration.federated_credentials.as_slice() else {
        panic!("one credential")
    };
    assert_eq!(credential.credential_id, credential_id(&v1(TID), "sub-1"));
    assert_eq!(credential.audiences, vec!["api://app"]);
    assert_eq!((credential.created_at, credential.updated_at), (10, 20));
    assert_eq!(credential.expected_tid.as_deref(), Some(TID));
    // Written back, it has today's shape and reads back identical except for the pending markers.
    let written = serde_json::to_value(&registration).unwrap();
    for legacy_field in [
        "issuer",
        "jwks_uri",
        "subject",
        "audience",
        "expected_tid",
        "markers_pending",
    ] {
        assert!(written.get(legacy_field).is_none(), "{legacy_field}: {written}");
    }
    let back: Registration = serde_json::from_value(written).unwrap();
    assert_eq!(
        back,
        Registration {
            markers_pending: false,
            ..registration
        }
    );
}

#[test]
fn secrets_only_items_have_no_credential_in_either_shape() {
    let stored = serde_json::json!({
        "client_id": "c1", "tenant_id": "t1", "allowed_scopes": ["scim"], "token_lifetime_seconds": 3600,
        "allowed_algorithms": ["RS256"], "enabled": true, "wif_enabled": false, "secrets_enabled": true,
        "version": 1, "created_at": 1, "updated_at": 1
    });
    let registration: Registration = serde_json::from_value(stored).unwrap();
    assert!(registration.federated_credentials.is_empty() && !registration.markers_pending);
    let written = serde_json::to_value(&registration).unwrap();
    assert!(written.get("federated_credentials").is_none(), "{written}");
}

#[test]
fn credential_ids_follow_issuer_and_subject() {
    let a = credential_id(&v2(TID), "s");
    assert!(a.starts_with("fc-") && a.len() == 15, "{a}");
    assert_eq!(a, credential_id(&v2(TID), "s"));
    assert_ne!(a, credential_id(&v1(TID), "s"));
    // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    assert_ne!(credential_id("ab", "c"), credential_id("a", "bc"));
}

fn openid_configuration(issuer: &str, jwks_uri: &str) -> String {
    serde_json::json!({ "issuer": issuer, "jwks_uri": jwks_uri, "token_endpoint": "https://x" }).to_string()
}

#[tokio::test]
async fn a_left_out_jwks_url_is_discovered_from_the_openid_configuration() {
    let policy = RegistrationPolicy::default();
    let fetcher = StaticJwksFetcher::default();
    let mut r = request();
    r.jwks_uri = None;
    let valid = r.validate(&policy).unwrap();
    let JwksSource::Discover { discovery_url } = &valid.credentials[0].jwks else {
        panic!("discovery expected")
    };
    let keys = format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys");
    let discover = |fetcher| resolve(&valid.credentials, fetcher, &policy, &[], 5);
    let fetcher = &fetcher;
    let error = discover(fetcher).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "jwks_uri: could not be discovered from {discovery_url}: JWKS server answered"
        )),
        "{error}"
    );
    fetcher.serve(discovery_url, &openid_configuration(&v1(TID), &keys));
    let error = discover(fetcher).await.unwrap_err().to_string();
    assert!(
        error.starts_with("issuer: the tenant's OpenID configuration"),
        "{error}"
    );
    fetcher.serve(
        discovery_url,
        &openid_configuration(&v2(TID), "https://evil.example/keys"),
    );
    let error = discover(fetcher).await.unwrap_err().to_string();
    assert!(
        error.contains("host evil.example is not on the JWKS host allow-list"),
        "{error}"
    );
    let other = format!("https://login.microsoftonline.com/{OTHER_TID}/discovery/v2.0/keys");
    fetcher.serve(discovery_url, &openid_configuration(&v2(TID), &other));
    let error = discover(fetcher).await.unwrap_err().to_string();
    assert!(error.contains(&format!("names tenant {OTHER_TID}")), "{error}");
    fetcher.serve(discovery_url, "not json");
    assert!(discover(fetcher).await.unwrap_err().to_string().contains("not JSON"));
    fetcher.serve(discovery_url, &openid_configuration(&v2(TID), &keys));
    let credentials = discover(fetcher).await.unwrap();
    assert_eq!(credentials[0].jwks_uri, keys);
    assert_eq!((credentials[0].created_at, credentials[0].updated_at), (5, 5));
}

#[tokio::test]
async fn a_credential_keeps_its_creation_time_and_moves_updated_at_only_on_change() {
    let policy = RegistrationPolicy::default();
    let fetcher = StaticJwksFetcher::default();
    let valid = request().validate(&policy).unwrap();
    let first = resolve(&valid.credentials, &fetcher, &policy, &[], 100).await.unwrap();
    let same = resolve(&valid.credentials, &fetcher, &policy, &first, 200)
        .await
        .unwrap();
    assert_eq!(same, first);
    let mut wider = request();
    wider.audiences = Some(vec!["f407babd-8d0f-4afc-a6e7-46f28612670b".into()]);
    let valid = wider.validate(&policy).unwrap();
    let changed = resolve(&valid.credentials, &fetcher, &policy, &first, 300)
        .await
        .unwrap();
    assert_eq!((changed[0].created_at, changed[0].updated_at), (100, 300));
    assert_eq!(changed[0].credential_id, first[0].credential_id);
}

#[test]
fn trusts_list_every_audience_of_every_credential() {
    let mut registration = crate::testing::sample_registration("c1");
    registration.federated_credentials[0]
        .audiences
        .push("api://second".into());
    let trusts = registration.trusts();
    assert_eq!(trusts.len(), 2);
    assert!(
        trusts
            .iter()
            .all(|t| t.subject == "fbd13a0e-0a74-477d-953a-9f4b520a0e8e")
    );
    assert_eq!(registration.jwks_uris().len(), 1);
}
