//! `POST /migrations/trust-markers`: registrations stored before federated credentials (one trust in four
//! top-level fields, no uniqueness marker) get their markers, and are rewritten in today's shape. Until then such a
//! registration is found only by its `client_id` (which Entra sends), and nothing stops another registration from
//! claiming its trust. The migration is idempotent and safe to run while the token endpoint serves traffic: each
//! registration is one versioned transaction, and any other change of a registration writes its markers too.

use wif_admin_api::{MarkerConflict, MarkerMigration};

use crate::error::RegistryError;
use crate::ports::{ListError, RegistrationWriteError};
use crate::service::{Actor, MAX_PAGE_SIZE, RegistryService};

impl RegistryService {
    /// Writes the markers of every registration whose markers are pending. A trust another registration already
    /// holds is reported (with both client ids: this is the operator's tool) and that registration left as it was.
    pub async fn migrate_trust_markers(&self, actor: &Actor) -> Result<MarkerMigration, RegistryError> {
        let mut report = MarkerMigration::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store()
                .list(None, cursor.as_deref(), MAX_PAGE_SIZE)
                .await
                .map_err(|err| match err {
                    ListError::InvalidCursor => RegistryError::Unavailable("the store rejected its own cursor".into()),
                    ListError::Unavailable(err) => err.into(),
                })?;
            report.examined += page.items.len();
            for current in page.items.iter().filter(|registration| registration.markers_pending) {
                let mut updated = current.clone();
                updated.version = current.version + 1;
                updated.updated_at = self.now();
                updated.markers_pending = false;
                match self.store().replace(current, &updated).await {
                    Ok(()) => {
                        report.migrated.push(current.client_id.clone());
                        let details = serde_json::json!({ "trusts": current.trusts().len() });
                        self.audit(actor, "admin.client.migrate_markers", &updated, details)
                            .await;
                    }
                    Err(RegistrationWriteError::TrustTaken { trust, holder }) => {
                        report.conflicts.push(MarkerConflict {
                            client_id: current.client_id.clone(),
                            issuer: trust.issuer,
                            subject: trust.subject,
                            audience: trust.audience,
                            held_by: holder.map(|holder| holder.client_id),
                        })
                    }
                    // Changed meanwhile: that change wrote its markers.
                    Err(RegistrationWriteError::VersionConflict) => {}
                    Err(RegistrationWriteError::AlreadyExists) => {}
                    Err(RegistrationWriteError::Unavailable(err)) => return Err(err.into()),
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok(report);
            }
        }
    }
}
