//! The demo people of the OpenID provider: an administrator and a non-administrator in each of two tenants.

use serde::Serialize;

/// Directory role template ids (the same in every tenant), as Entra puts them in `wids`.
pub const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
/// Every signed-in member of a tenant gets this "User" role template id in `wids`.
pub const USER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/// The second demo tenant (the first is the stand-in's own tenant).
pub const SECOND_TENANT_ID: &str = "c7d1e5a2-3b4f-4c6d-8e9f-a0b1c2d3e4f5";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoUser {
    /// Short name used by the sign-in page and the control endpoints (`adele`).
    pub key: String,
    pub name: String,
    pub upn: String,
    pub oid: String,
    pub tid: String,
    pub wids: Vec<String>,
    /// What the sign-in page says about the user.
    pub role_label: String,
}

fn user(key: &str, name: &str, domain: &str, oid: &str, tid: &str, role: Option<(&str, &str)>) -> DemoUser {
    let mut wids = vec![USER_ROLE.to_owned()];
    if let Some((id, _)) = role {
        wids.push(id.to_owned());
    }
    DemoUser {
        key: key.into(),
        name: name.into(),
        upn: format!("{key}@{domain}"),
        oid: oid.into(),
        tid: tid.into(),
        wids,
        role_label: role.map_or("no administrator role", |(_, label)| label).into(),
    }
}

/// Adele (Application Administrator) and Nestor (Global Reader) in `first_tenant`; Bianca (Cloud Application
/// Administrator) and Lynne (no role) in [`SECOND_TENANT_ID`].
pub fn demo_users(first_tenant: &str) -> Vec<DemoUser> {
    vec![
        user(
            "adele",
            "Adele Vance",
            "contoso.example",
            "4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4a01",
            first_tenant,
            Some((APPLICATION_ADMINISTRATOR, "Application Administrator")),
        ),
        user(
            "nestor",
            "Nestor Wilke",
            "contoso.example",
            "4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4a02",
            first_tenant,
            Some((GLOBAL_READER, "Global Reader")),
        ),
        user(
            "bianca",
            "Bianca Pisani",
            "fabrikam.example",
            "4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4a03",
            SECOND_TENANT_ID,
            Some((CLOUD_APPLICATION_ADMINISTRATOR, "Cloud Application Administrator")),
        ),
        user(
            "lynne",
            "Lynne Robbins",
            "fabrikam.example",
            "4f6a1c2e-0b7d-4e21-9a35-7c1d2e3f4a04",
            SECOND_TENANT_ID,
            None,
        ),
    ]
}
