//! Who may do what. A person's role comes from the directory roles in their token's `wids` claim (Entra role
//! *template* ids, the same in every tenant) and from the link of their tenant; the JSON API also needs the
//! matching delegated scope. Missing credentials are 401, a credential without the role or scope is 403.

use crate::error::PortalError;
use crate::model::{NonAdminAccess, Person, TenantLink};

/// Role template ids that may set up provisioning (Microsoft requires at least Application Administrator),
/// from Microsoft's "Microsoft Entra built-in roles" reference.
pub const ADMIN_ROLE_TEMPLATE_IDS: [(&str, &str); 3] = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
];

pub const SCOPE_READ: &str = "registrations.read";
pub const SCOPE_READWRITE: &str = "registrations.readwrite";

/// Whether any of these role template ids may set up provisioning.
pub fn holds_admin_role(wids: &[String]) -> bool {
    wids.iter()
        .any(|wid| ADMIN_ROLE_TEMPLATE_IDS.iter().any(|(id, _)| id == wid))
}

/// The names of the admin roles among `wids`, for the overview page.
pub fn admin_role_names(wids: &[String]) -> Vec<&'static str> {
    ADMIN_ROLE_TEMPLATE_IDS
        .iter()
        .filter(|(id, _)| wids.iter().any(|wid| wid == id))
        .map(|(_, name)| *name)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    None,
    Read,
    ReadWrite,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "no access",
            Role::Read => "read",
            Role::ReadWrite => "read and write",
        }
    }
}

/// What a request may do, and in which customer account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub person: Person,
    /// The linked customer account, if the person's tenant is linked.
    pub link: Option<TenantLink>,
    pub role: Role,
    /// The JSON API's delegated scopes; `None` for a browser session (the role alone decides).
    pub scopes: Option<Vec<String>>,
}

impl Principal {
    pub fn new(person: Person, link: Option<TenantLink>, scopes: Option<Vec<String>>) -> Self {
        let role = match &link {
            None => Role::None,
            Some(_) if person.admin => Role::ReadWrite,
            Some(link) => match link.non_admin_access {
                NonAdminAccess::Read => Role::Read,
                NonAdminAccess::None => Role::None,
            },
        };
        Self {
            person,
            link,
            role,
            scopes,
        }
    }

    /// The customer account, for reading. Unlinked tenants and users without a role get 403.
    pub fn for_read(&self) -> Result<&TenantLink, PortalError> {
        self.require(Role::Read, &[SCOPE_READ, SCOPE_READWRITE])
    }

    /// The customer account, for changing something.
    pub fn for_write(&self) -> Result<&TenantLink, PortalError> {
        self.require(Role::ReadWrite, &[SCOPE_READWRITE])
    }

    fn require(&self, role: Role, scopes: &[&str]) -> Result<&TenantLink, PortalError> {
        let Some(link) = &self.link else {
            return Err(PortalError::Forbidden(format!(
                "your Entra tenant {} is not connected to a customer account yet; ask your provider for an \
                 onboarding invitation",
                self.person.tid
            )));
        };
        if let Some(granted) = &self.scopes
            && !granted.iter().any(|scope| scopes.contains(&scope.as_str()))
        {
            return Err(PortalError::Forbidden(format!(
                "the access token lacks the scope {}",
                scopes.join(" or ")
            )));
        }
        if self.role < role {
            let needed = if role == Role::ReadWrite {
                "an Application Administrator, Cloud Application Administrator or Global Administrator role"
            } else {
                "read access, which your provider has not granted to users without an administrator role"
            };
            return Err(PortalError::Forbidden(format!("this needs {needed}")));
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(admin: bool) -> Person {
        Person {
            tid: "t".into(),
            oid: "o".into(),
            upn: None,
            name: None,
            admin,
            roles: Vec::new(),
        }
    }

    fn link(access: NonAdminAccess) -> TenantLink {
        TenantLink {
            entra_tenant_id: "t".into(),
            tenant_id: "acme".into(),
            display_name: None,
            non_admin_access: access,
            created_at: 0,
            created_by: "ops".into(),
        }
    }

    #[test]
    fn wids_decide_admin() {
        assert!(holds_admin_role(&["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3".into()]));
        assert!(holds_admin_role(&[
            "x".into(),
            "62e90394-69f5-4237-9190-012177145e10".into()
        ]));
        // User Administrator and Global Reader are not enough to set up provisioning.
        assert!(!holds_admin_role(&[
            "fe930be7-5e62-47db-91af-98c3a49a38b1".into(),
            "f2ef992c-3afb-46b9-b7cf-a126ee74c451".into()
        ]));
        assert_eq!(
            admin_role_names(&["158c047a-c907-4556-b7ef-446551a6b5f7".into()]),
            vec!["Cloud Application Administrator"]
        );
    }

    #[test]
    fn roles_follow_the_link_and_scopes() {
        let admin = Principal::new(person(true), Some(link(NonAdminAccess::None)), None);
        assert!(admin.for_write().is_ok());
        let reader = Principal::new(person(false), Some(link(NonAdminAccess::Read)), None);
        assert!(reader.for_read().is_ok());
        assert_eq!(reader.for_write().unwrap_err().status(), 403);
        let nobody = Principal::new(person(false), Some(link(NonAdminAccess::None)), None);
        assert_eq!(nobody.for_read().unwrap_err().status(), 403);
        let unlinked = Principal::new(person(true), None, None);
        assert_eq!(unlinked.for_read().unwrap_err().status(), 403);
        let read_scope = Principal::new(
            person(true),
            Some(link(NonAdminAccess::None)),
            Some(vec![SCOPE_READ.into()]),
        );
        assert!(read_scope.for_read().is_ok());
        assert_eq!(read_scope.for_write().unwrap_err().status(), 403);
        let no_scope = Principal::new(person(true), Some(link(NonAdminAccess::None)), Some(vec![]));
        assert_eq!(no_scope.for_read().unwrap_err().status(), 403);
    }
}
