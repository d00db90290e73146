//! The Portal table's repository against moto through the real SDK: single-use pending sign-ins, sessions,
//! links that cannot be claimed twice, and invitations that are redeemed once, in one transaction with the link.

use wif_portal::model::{Invitation, NonAdminAccess, PendingSignIn, Person, Session, TenantLink};
use wif_portal::ports::{LinkWriteError, SessionStore, TenantLinkStore};
use wif_store::TableNames;
use wif_store::portal::PortalRepository;
use wif_testkit::tables::create_tables;

async fn repository() -> PortalRepository {
    let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
    create_tables(&client, &names).await.expect("create tables");
    PortalRepository::new(client, names.portal)
}

fn link(tid: &str, tenant: &str) -> TenantLink {
    TenantLink {
        entra_tenant_id: tid.into(),
        tenant_id: tenant.into(),
        display_name: Some("Acme".into()),
        non_admin_access: NonAdminAccess::Read,
        created_at: 1,
        created_by: "ops".into(),
    }
}

#[tokio::test]
async fn pending_sign_ins_are_taken_once_and_sessions_round_trip() {
    let repo = repository().await;
    let pending = PendingSignIn {
        key_hash: "h1".into(),
        state: "s".into(),
        nonce: "n".into(),
        code_verifier: "v".into(),
        return_to: "/registrations".into(),
        redirect_uri: "https://portal.example/signin/callback".into(),
        expires_at: 2_000_000_000,
    };
    repo.put_pending(&pending).await.unwrap();
    assert_eq!(repo.take_pending("h1").await.unwrap(), Some(pending));
    assert_eq!(repo.take_pending("h1").await.unwrap(), None, "a replay finds nothing");

    let session = Session {
        id_hash: "sh".into(),
        person: Person {
            tid: "t".into(),
            oid: "o".into(),
            upn: Some("a@b.example".into()),
            name: None,
            admin: true,
            roles: vec!["Application Administrator".into()],
        },
        csrf_token: "c".into(),
        created_at: 10,
        last_seen_at: 10,
        idle_expires_at: 20,
        expires_at: 100,
    };
    repo.put_session(&session).await.unwrap();
    assert_eq!(repo.get_session("sh").await.unwrap(), Some(session.clone()));
    repo.touch_session("sh", 15, 45).await.unwrap();
    let touched = repo.get_session("sh").await.unwrap().unwrap();
    assert_eq!((touched.last_seen_at, touched.idle_expires_at), (15, 45));
    repo.delete_session("sh").await.unwrap();
    assert_eq!(repo.get_session("sh").await.unwrap(), None);
    repo.touch_session("sh", 16, 46).await.unwrap();
    assert_eq!(
        repo.get_session("sh").await.unwrap(),
        None,
        "touching a signed-out session creates nothing"
    );
}

#[tokio::test]
async fn links_are_claimed_once_and_invitations_redeemed_once() {
    let repo = repository().await;
    repo.insert_link(&link("tid-a", "acme")).await.unwrap();
    assert_eq!(
        repo.insert_link(&link("tid-a", "evil")).await,
        Err(LinkWriteError::AlreadyLinked)
    );
    assert_eq!(repo.get_link("tid-a").await.unwrap().unwrap().tenant_id, "acme");

    let invitation = Invitation {
        code_hash: "ch".into(),
        tenant_id: "globex".into(),
        display_name: None,
        non_admin_access: NonAdminAccess::None,
        created_at: 100,
        expires_at: 200,
        created_by: "ops".into(),
    };
    repo.put_invitation(&invitation).await.unwrap();
    assert_eq!(repo.get_invitation("ch").await.unwrap(), Some(invitation.clone()));
    assert_eq!(
        repo.redeem_invitation("ch", &link("tid-b", "globex"), 250).await,
        Err(LinkWriteError::InvitationInvalid),
        "expired"
    );
    assert_eq!(
        repo.redeem_invitation("ch", &link("tid-a", "globex"), 150).await,
        Err(LinkWriteError::AlreadyLinked),
        "a linked tenant cannot be re-linked by an invitation"
    );
    repo.redeem_invitation("ch", &link("tid-b", "globex"), 150)
        .await
        .unwrap();
    assert_eq!(
        repo.redeem_invitation("ch", &link("tid-c", "globex"), 150).await,
        Err(LinkWriteError::InvitationInvalid),
        "used"
    );
    let mut tenants: Vec<String> = repo
        .list_links()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.tenant_id)
        .collect();
    tenants.sort();
    assert_eq!(tenants, vec!["acme", "globex"]);
    assert!(repo.delete_link("tid-a").await.unwrap());
    assert!(!repo.delete_link("tid-a").await.unwrap());
}
