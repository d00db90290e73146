//! Registrations: create, read, list, update (optimistic, re-validated), enable/disable, delete and revocation.

use wif_admin_api::{ClientSettings, ClientUpdate, NewClient};
use wif_auth::ports::TokenStore;

use super::{TID, actor, fixture, live_token, new_client};

#[tokio::test]
async fn secrets_only_clients_need_no_federation_fields_until_they_turn_wif_on() {
    let f = fixture();
    let create = NewClient {
        settings: ClientSettings {
            display_name: Some("Gallery customer".into()),
            wif_enabled: Some(false),
            secrets_enabled: Some(true),
            ..Default::default()
        },
        ..Default::default()
    };
    let view = f.service.create(create, &actor()).await.unwrap();
    assert!(!view.wif_enabled && view.secrets_enabled);
    assert!(view.federated_credentials.is_empty());
    // Turning WIF on needs the federation values, all of them, checked as usual.
    let enable = |version, issuer: Option<&str>| ClientUpdate {
        version: Some(version),
        settings: ClientSettings {
            wif_enabled: Some(true),
            issuer: issuer.map(str::to_owned),
            jwks_uri: new_client().settings.jwks_uri,
            subject: new_client().settings.subject,
            audience: new_client().settings.audience,
            ..Default::default()
        },
    };
    let err = f
        .service
        .update(&view.client_id, enable(1, None), &actor())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "issuer: is required");
    let federated = f
        .service
        .update(
            &view.client_id,
            enable(1, new_client().settings.issuer.as_deref()),
            &actor(),
        )
        .await
        .unwrap();
    assert!(federated.wif_enabled);
    assert_eq!(
        Some(federated.federated_credentials[0].issuer.clone()),
        new_client().settings.issuer
    );
    assert_eq!(federated.federated_credentials[0].expected_tid.as_deref(), Some(TID));
    // From now on the issuer is fixed.
    let err = f
        .service
        .update(
            &view.client_id,
            enable(2, Some("https://sts.windows.net/other/")),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("issuer: cannot be changed"), "{err}");
    // A WIF-only create still needs every field.
    let err = f.service.create(NewClient::default(), &actor()).await.unwrap_err();
    assert_eq!(err.to_string(), "issuer: is required");
}

#[tokio::test]
async fn create_applies_defaults_and_returns_the_urls() {
    let f = fixture();
    let view = f.service.create(new_client(), &actor()).await.unwrap();
    assert_eq!(view.federated_credentials[0].expected_tid.as_deref(), Some(TID));
    assert_eq!(view.scopes, vec!["scim", "scim.read", "scim.readwrite"]);
    assert_eq!(view.token_lifetime_seconds, 3600);
    assert_eq!(view.allowed_algorithms, vec!["RS256"]);
    assert_eq!(view.token_url, "https://auth.example.com/oauth2/token");
    assert_eq!(view.scim_url, "https://scim.example.com/scim/v2");
    assert!(view.enabled);
    assert_eq!(view.version, 1);
    assert!(uuid::Uuid::try_parse(&view.client_id).is_ok());
    assert_eq!(f.service.get(&view.client_id).await.unwrap(), view);
    let event = f.audit.last().unwrap();
    assert_eq!(event.action, "admin.client.create");
    assert_eq!(event.actor.as_deref(), Some("arn:aws:iam::123456789012:user/ops"));
    assert_eq!(event.client_id.as_deref(), Some(view.client_id.as_str()));
}

#[tokio::test]
async fn create_rejects_invalid_fields_naming_them() {
    let f = fixture();
    let mut bad = new_client();
    bad.settings.jwks_uri = Some("http://login.microsoftonline.com/x/discovery/keys".into());
    let err = f.service.create(bad, &actor()).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().starts_with("jwks_uri:"), "{err}");
    let mut bad = new_client();
    bad.settings.subject = Some(" padded ".into());
    assert!(
        f.service
            .create(bad, &actor())
            .await
            .unwrap_err()
            .to_string()
            .starts_with("subject:")
    );
    assert!(f.audit.events().is_empty());
}

#[tokio::test]
async fn get_of_unknown_client_is_not_found() {
    let f = fixture();
    let err = f.service.get("nope").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "not_found"));
}

#[tokio::test]
async fn update_is_optimistic_and_revalidated() {
    let f = fixture();
    let view = f.service.create(new_client(), &actor()).await.unwrap();
    f.clock.advance(10);
    let update = ClientUpdate {
        version: Some(1),
        settings: ClientSettings {
            audience: Some("api://renamed".into()),
            scopes: Some(vec!["scim.read".into()]),
            ..Default::default()
        },
    };
    let updated = f
        .service
        .update(&view.client_id, update.clone(), &actor())
        .await
        .unwrap();
    assert_eq!(updated.federated_credentials[0].audiences, vec!["api://renamed"]);
    assert_eq!(updated.scopes, vec!["scim.read"]);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.updated_at, view.updated_at + 10);
    assert_eq!(
        updated.federated_credentials[0].issuer,
        view.federated_credentials[0].issuer
    );

    // The same stale version again loses.
    let err = f.service.update(&view.client_id, update, &actor()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (409, "version_conflict"));

    let refused = async |update: ClientUpdate| f.service.update(&view.client_id, update, &actor()).await.unwrap_err();
    let err = refused(ClientUpdate {
        version: Some(2),
        settings: ClientSettings {
            token_lifetime_seconds: Some(60),
            ..Default::default()
        },
    })
    .await;
    assert!(err.to_string().starts_with("token_lifetime_seconds:"), "{err}");
    let err = refused(ClientUpdate {
        version: None,
        ..Default::default()
    })
    .await;
    assert!(err.to_string().starts_with("version:"));
    let err = refused(ClientUpdate {
        version: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(err.status(), 400);
}

#[tokio::test]
async fn disable_and_delete_revoke_live_tokens() {
    let f = fixture();
    let a = f.service.create(new_client(), &actor()).await.unwrap();
    let b = f.service.create(new_client(), &actor()).await.unwrap();
    f.tokens.put_token(&live_token(&a.client_id, "h1")).await.unwrap();
    f.tokens.put_token(&live_token(&b.client_id, "h2")).await.unwrap();

    let disabled = f
        .service
        .set_enabled(&a.client_id, false, Some(1), &actor())
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.version, 2);
    let records = f.tokens.records();
    assert!(records.iter().find(|r| r.token_hash == "h1").unwrap().revoked);
    assert!(!records.iter().find(|r| r.token_hash == "h2").unwrap().revoked);
    assert_eq!(f.audit.last().unwrap().details["revoked_tokens"], 1);

    let enabled = f.service.set_enabled(&a.client_id, true, None, &actor()).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.version, 3);

    let err = f.service.delete(&b.client_id, Some(7), &actor()).await.unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(f.service.delete(&b.client_id, Some(1), &actor()).await.unwrap(), 1);
    assert_eq!(f.service.get(&b.client_id).await.unwrap_err().status(), 404);
    assert_eq!(
        f.service
            .delete(&b.client_id, None, &actor())
            .await
            .unwrap_err()
            .status(),
        404
    );
}

#[tokio::test]
async fn list_pages_and_filters_by_tenant() {
    let f = fixture();
    for i in 0..5 {
        let mut req = new_client();
        req.tenant_id = Some(if i % 2 == 0 { "even".into() } else { "odd".into() });
        f.service.create(req, &actor()).await.unwrap();
    }
    let first = f.service.list(Some("even"), None, Some(2)).await.unwrap();
    assert_eq!(first.clients.len(), 2);
    let rest = f
        .service
        .list(Some("even"), first.next_cursor.as_deref(), Some(2))
        .await
        .unwrap();
    assert_eq!(rest.clients.len(), 1);
    assert!(rest.next_cursor.is_none());
    assert_eq!(f.service.list(None, None, None).await.unwrap().clients.len(), 5);
    assert_eq!(f.service.list(None, None, Some(0)).await.unwrap_err().status(), 400);
    assert_eq!(
        f.service.list(None, Some("bogus"), None).await.unwrap_err().status(),
        400
    );
}

#[tokio::test]
async fn revoke_tokens_counts_and_audits() {
    let f = fixture();
    let a = f.service.create(new_client(), &actor()).await.unwrap();
    f.tokens.put_token(&live_token(&a.client_id, "h1")).await.unwrap();
    f.tokens.put_token(&live_token(&a.client_id, "h2")).await.unwrap();
    assert_eq!(f.service.revoke_tokens(&a.client_id, &actor()).await.unwrap(), 2);
    assert_eq!(f.service.revoke_tokens(&a.client_id, &actor()).await.unwrap(), 0);
    assert_eq!(
        f.service.revoke_tokens("nope", &actor()).await.unwrap_err().status(),
        404
    );
}
