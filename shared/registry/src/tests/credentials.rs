//! Federated credentials and audiences: the shorthand and the list on create and update, the credentials
//! resource, JWKS URL discovery, the uniqueness of every (issuer, subject, audience) across registrations, and the
//! migration of registrations stored before trust markers.

use wif_admin_api::{AudienceChange, ClientSettings, ClientUpdate, CredentialSettings, CredentialUpdate, NewClient};
use wif_auth::registration::{Registration, Trust};

use super::{Fixture, TID, actor, fixture, new_client};
use crate::ports::RegistrationStore;

const OTHER_TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn v2(tid: &str) -> String {
    format!("https://login.microsoftonline.com/{tid}/v2.0")
}

fn credential(issuer: &str, subject: &str, audiences: &[&str]) -> CredentialSettings {
    CredentialSettings {
        issuer: Some(issuer.to_owned()),
        jwks_uri: Some(format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys")),
        subject: Some(subject.to_owned()),
        audiences: Some(audiences.iter().map(|a| (*a).to_owned()).collect()),
        ..Default::default()
    }
}

fn trust(issuer: &str, subject: &str, audience: &str) -> Trust {
    Trust {
        issuer: issuer.into(),
        subject: subject.into(),
        audience: audience.into(),
    }
}

async fn stored(f: &Fixture, client_id: &str) -> Registration {
    f.store.get(client_id).await.unwrap().unwrap()
}

#[tokio::test]
async fn the_shorthand_takes_several_audiences_and_the_list_several_credentials() {
    let f = fixture();
    let mut shorthand = new_client();
    shorthand.settings.audiences = Some(vec!["contoso-app-id".into()]);
    let view = f.service.create(shorthand, &actor()).await.unwrap();
    assert_eq!(
        view.federated_credentials[0].audiences,
        vec!["api://contoso-scim", "contoso-app-id"]
    );
    let list = NewClient {
        settings: ClientSettings {
            federated_credentials: Some(vec![
                credential(&v2(TID), "sub-a", &["api://a"]),
                credential(&v2(TID), "sub-b", &["api://a", "a"]),
            ]),
            ..Default::default()
        },
        ..Default::default()
    };
    let view = f.service.create(list, &actor()).await.unwrap();
    assert_eq!(view.federated_credentials.len(), 2);
    assert_eq!(stored(&f, &view.client_id).await.trusts().len(), 3);
    let event = f.audit.last().unwrap();
    assert_eq!(event.details["federated_credentials"][1]["subject"], "sub-b");
}

#[tokio::test]
async fn a_trust_belongs_to_one_registration_and_only_its_own_tenant_learns_which() {
    let f = fixture();
    let mut first = new_client();
    first.tenant_id = Some("acme".into());
    let first = f.service.create(first, &actor()).await.unwrap();
    let claimed = first.federated_credentials[0].clone();
    let mut twin = new_client();
    twin.settings.subject = Some(claimed.subject.clone());
    twin.tenant_id = Some("acme".into());
    let err = f.service.create(twin.clone(), &actor()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (409, "conflict"));
    assert!(
        err.to_string().ends_with(&format!(
            "is already registered to client {} of this tenant; remove it there first",
            first.client_id
        )),
        "{err}"
    );
    twin.tenant_id = Some("globex".into());
    let err = f.service.create(twin.clone(), &actor()).await.unwrap_err();
    assert!(
        err.to_string().ends_with("api://contoso-scim) is already registered"),
        "{err}"
    );
    assert!(!err.to_string().contains(&first.client_id));
    // Another audience of the same identity is another trust.
    twin.settings.audience = Some("api://other".into());
    assert!(f.service.create(twin, &actor()).await.is_ok());
}

#[tokio::test]
async fn changes_and_deletion_move_the_markers_in_the_same_write() {
    let f = fixture();
    let a = f.service.create(new_client(), &actor()).await.unwrap();
    let credential = &a.federated_credentials[0];
    let old = trust(&credential.issuer, &credential.subject, "api://contoso-scim");
    let new = trust(&credential.issuer, &credential.subject, "api://renamed");
    assert_eq!(f.store.holder(&old), Some(a.client_id.clone()));
    let update = ClientUpdate {
        version: Some(1),
        settings: ClientSettings {
            audience: Some("api://renamed".into()),
            ..Default::default()
        },
    };
    f.service.update(&a.client_id, update, &actor()).await.unwrap();
    assert_eq!(f.store.holder(&old), None);
    assert_eq!(f.store.holder(&new), Some(a.client_id.clone()));
    // The released trust can be registered again elsewhere.
    let mut b = new_client();
    b.settings.subject = Some(credential.subject.clone());
    let b = f.service.create(b, &actor()).await.unwrap();
    assert_eq!(f.store.holder(&old), Some(b.client_id.clone()));
    f.service.delete(&a.client_id, None, &actor()).await.unwrap();
    assert_eq!(f.store.holder(&new), None);
}

#[tokio::test]
async fn the_shorthand_changes_only_a_single_credential_and_never_its_issuer() {
    let f = fixture();
    let two = NewClient {
        settings: ClientSettings {
            federated_credentials: Some(vec![
                credential(&v2(TID), "sub-a", &["api://a"]),
                credential(&format!("https://sts.windows.net/{TID}/"), "sub-a", &["api://a"]),
            ]),
            ..Default::default()
        },
        ..Default::default()
    };
    let view = f.service.create(two, &actor()).await.unwrap();
    let shorthand = ClientUpdate {
        version: Some(1),
        settings: ClientSettings {
            audience: Some("api://b".into()),
            ..Default::default()
        },
    };
    let err = f
        .service
        .update(&view.client_id, shorthand, &actor())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("audience: this registration has 2 federated credentials"),
        "{err}"
    );
    let replace = ClientUpdate {
        version: Some(1),
        settings: ClientSettings {
            federated_credentials: Some(vec![credential(&v2(TID), "sub-c", &["api://c"])]),
            ..Default::default()
        },
    };
    let replaced = f.service.update(&view.client_id, replace, &actor()).await.unwrap();
    assert_eq!(replaced.federated_credentials.len(), 1);
    assert_eq!(f.store.holder(&trust(&v2(TID), "sub-a", "api://a")), None);
    let mut elsewhere = credential(&v2(OTHER_TID), "sub-c", &["api://c"]);
    elsewhere.jwks_uri = None;
    let other_tenant = ClientUpdate {
        version: Some(2),
        settings: ClientSettings {
            federated_credentials: Some(vec![elsewhere]),
            ..Default::default()
        },
    };
    let err = f
        .service
        .update(&view.client_id, other_tenant, &actor())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "names Entra tenant {OTHER_TID}, but this registration serves tenant {TID}"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_are_added_changed_and_removed_one_at_a_time() {
    let f = fixture();
    let view = f.service.create(new_client(), &actor()).await.unwrap();
    let id = view.client_id.as_str();
    let old = view.federated_credentials[0].credential_id.clone();
    // Add a v2 credential with its JWKS URL left out: discovered from the tenant's OpenID configuration.
    let discovery = format!("https://login.microsoftonline.com/{TID}/v2.0/.well-known/openid-configuration");
    let keys = format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys");
    f.fetcher.serve(
        &discovery,
        &serde_json::json!({ "issuer": v2(TID), "jwks_uri": keys }).to_string(),
    );
    let mut new = credential(&v2(TID), "sub-new", &["api://contoso-scim"]);
    new.jwks_uri = None;
    let added = f
        .service
        .add_credential(id, new.clone(), Some(1), &actor())
        .await
        .unwrap();
    assert_eq!((added.version, added.credential.jwks_uri.as_str()), (2, keys.as_str()));
    assert_eq!(f.audit.last().unwrap().action, "admin.credential.add");
    let listed = f.service.list_credentials(id).await.unwrap();
    assert_eq!((listed.version, listed.federated_credentials.len()), (2, 2));
    // Adding it again: same issuer and subject.
    let err = f.service.add_credential(id, new, None, &actor()).await.unwrap_err();
    assert!(err.to_string().contains("same issuer and subject"), "{err}");
    let new_id = added.credential.credential_id.clone();
    let change = AudienceChange {
        audience: Some("contoso-app-id".into()),
        version: None,
    };
    let widened = f.service.add_audience(id, &new_id, change, &actor()).await.unwrap();
    assert_eq!(
        widened.credential.audiences,
        vec!["api://contoso-scim", "contoso-app-id"]
    );
    let narrowed = f
        .service
        .remove_audience(id, &new_id, "api://contoso-scim", None, &actor())
        .await
        .unwrap();
    assert_eq!(narrowed.credential.audiences, vec!["contoso-app-id"]);
    let err = f
        .service
        .remove_audience(id, &new_id, "contoso-app-id", None, &actor())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("audience: the last audience"), "{err}");
    let err = f
        .service
        .remove_audience(id, &new_id, "nope", None, &actor())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let update = CredentialUpdate {
        expected_tid: Some(OTHER_TID.into()),
        ..Default::default()
    };
    let err = f
        .service
        .update_credential(id, &new_id, update, &actor())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("differs from the tenant in the issuer"),
        "{err}"
    );
    // Remove the old credential: only the new identity is trusted.
    let removed = f.service.remove_credential(id, &old, Some(4), &actor()).await.unwrap();
    assert_eq!(removed.version, 5);
    assert_eq!(f.service.get_credential(id, &old).await.unwrap_err().status(), 404);
    let err = f
        .service
        .remove_credential(id, &new_id, None, &actor())
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("federated_credentials: must not be empty"),
        "{err}"
    );
    let event = f.audit.last().unwrap();
    assert_eq!(event.action, "admin.credential.remove");
    assert_eq!(event.details["credential"]["credential_id"], old.as_str());
}

#[tokio::test]
async fn adding_a_credential_checks_the_tenant_and_the_other_registrations() {
    let f = fixture();
    let a = f.service.create(new_client(), &actor()).await.unwrap();
    let b = f.service.create(new_client(), &actor()).await.unwrap();
    let mut other_tenant = credential(&v2(OTHER_TID), "sub", &["api://x"]);
    other_tenant.jwks_uri = Some(format!(
        "https://login.microsoftonline.com/{OTHER_TID}/discovery/v2.0/keys"
    ));
    let err = f
        .service
        .add_credential(&a.client_id, other_tenant, None, &actor())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("names Entra tenant {OTHER_TID}")),
        "{err}"
    );
    assert!(err.to_string().contains("serves one customer tenant"), "{err}");
    let taken = &b.federated_credentials[0];
    let mut copy = credential(&taken.issuer, &taken.subject, &["api://contoso-scim"]);
    copy.jwks_uri = Some(taken.jwks_uri.clone());
    let err = f
        .service
        .add_credential(&a.client_id, copy, None, &actor())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409, "{err}");
    assert_eq!(stored(&f, &a.client_id).await.version, 1, "nothing written");
}

#[tokio::test]
async fn the_migration_writes_the_markers_of_registrations_stored_before_them() {
    let f = fixture();
    let marked = f.service.create(new_client(), &actor()).await.unwrap();
    let mut legacy = wif_auth::testing::sample_registration("legacy-1");
    legacy.federated_credentials[0].issuer = v2(TID);
    f.store.insert_unmarked(&legacy);
    let mut clash = wif_auth::testing::sample_registration("legacy-2");
    clash.federated_credentials = stored(&f, &marked.client_id).await.federated_credentials;
    f.store.insert_unmarked(&clash);
    let legacy_trust = legacy.trusts()[0].clone();
    assert_eq!(f.store.holder(&legacy_trust), None);
    assert!(stored(&f, "legacy-1").await.markers_pending);
    let report = f.service.migrate_trust_markers(&actor()).await.unwrap();
    assert_eq!(report.examined, 3);
    assert_eq!(report.migrated, vec!["legacy-1"]);
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(
        (
            report.conflicts[0].client_id.as_str(),
            report.conflicts[0].held_by.as_deref()
        ),
        ("legacy-2", Some(marked.client_id.as_str()))
    );
    assert_eq!(f.store.holder(&legacy_trust).as_deref(), Some("legacy-1"));
    let after = stored(&f, "legacy-1").await;
    assert!(!after.markers_pending);
    assert_eq!(after.version, legacy.version + 1);
    // Idempotent.
    let again = f.service.migrate_trust_markers(&actor()).await.unwrap();
    assert!(again.migrated.is_empty());
}

#[tokio::test]
async fn suspicious_values_are_accepted_with_a_warning() {
    let f = fixture();
    let mut client = new_client();
    client.settings.jwks_uri = Some(format!("https://login.microsoftonline.com/{TID}/discovery/v2.0/keys"));
    let view = f.service.create(client, &actor()).await.unwrap();
    assert_eq!(view.warnings.len(), 1, "{view:?}");
    assert!(view.warnings[0].starts_with("jwks_uri: is the v2 key URL for a v1 issuer"));
    assert!(f.service.get(&view.client_id).await.unwrap().warnings.is_empty());
}
