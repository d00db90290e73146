//! The pipeline's [`SetSigner`] over any [`JwsSigner`] (KMS in AWS and locally moto's KMS; a software key in
//! tests): header `{"alg", "kid", "typ": "secevent+jwt"}` (RFC 8417 §2.3), compact serialisation by wif-jose.

use std::sync::Arc;

use serde_json::{Map, Value};
use wif_events::feed::{SetSigner, SigningError};
use wif_events::set::SET_TYP;
use wif_jose::{JwsSigner, SignError, sign_compact};

pub struct JwsSetSigner(pub Arc<dyn JwsSigner>);

#[async_trait::async_trait]
impl SetSigner for JwsSetSigner {
    async fn sign(&self, claims: &Value) -> Result<String, SigningError> {
        let mut header = Map::new();
        header.insert("typ".into(), Value::from(SET_TYP));
        sign_compact(self.0.as_ref(), &header, claims)
            .await
            .map_err(|err| match err {
                SignError::Unavailable(reason) => SigningError::Unavailable(reason),
                SignError::Failed(reason) => SigningError::Failed(reason),
            })
    }
}
