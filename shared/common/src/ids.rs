//! Identifier newtypes. A tenant id, a client id and a SCIM resource id are all strings on the wire; as distinct
//! types, a call that passes one where another is expected (say, a resource id as the tenant) does not compile.
//! Each is built once where it enters the program: from the verified access token (tenant, client) or from the
//! request path (resource id).
//!
//! ```compile_fail
//! use wif_common::{ResourceId, TenantId};
//! fn read(_tenant: &TenantId, _id: &ResourceId) {}
//! let (tenant, id) = (TenantId::new("contoso"), ResourceId::new("u-1"));
//! read(&id, &tenant); // swapped: does not compile
//! ```

use std::fmt;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// The ISV's customer account a credential is bound to; every stored key is derived from it.
    TenantId
);
identifier!(
    /// A registration's `client_id`.
    ClientId
);
identifier!(
    /// The `id` of a SCIM User or Group (server-assigned, unique within its tenant).
    ResourceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_keep_their_text_and_serialize_as_plain_strings() {
        let tenant = TenantId::new("contoso");
        assert_eq!(tenant.as_str(), "contoso");
        assert_eq!(tenant.to_string(), "contoso");
        assert_eq!(serde_json::to_string(&tenant).unwrap(), "\"contoso\"");
        let id: ResourceId = serde_json::from_str("\"u-1\"").unwrap();
        assert_eq!(id, ResourceId::new("u-1"));
        assert_eq!(ClientId::new("c").into_string(), "c");
    }
}
