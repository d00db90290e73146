//! `POST /Bulk` (RFC 7644 §3.7): runs the operations of a parsed [`BulkRequest`] in [`order::schedule`]'s order,
//! each through the service's own create / replace / patch / delete (so each is checked for scope, tenant and size,
//! written atomically and audited exactly like the single request), substituting the ids created earlier for
//! `bulkId` references. Stops once `failOnErrors` operations have failed; the operations not run are not in the
//! answer. Not a transaction: what succeeded stays written.

use std::collections::HashMap;

use serde_json::Value;

use super::{DirectoryService, PatchResponse, RequestContext, ResourceResponse, etag};
use crate::bulk::response::{Done, OperationResult, bulk_response};
use crate::bulk::{BulkMethod, BulkRequest, Operation, ResourceRef, order};
use crate::error::ScimError;
use crate::projection::Projection;
use crate::store::ResourceId;

fn done(status: u16, resource: &ResourceResponse) -> Done {
    Done {
        status,
        location: Some(resource.location.clone()),
        version: Some(etag(resource.version)),
    }
}

/// The answer of an operation left unstarted when the request's time budget is spent.
fn budget_spent(budget: std::time::Duration) -> ScimError {
    ScimError::unavailable(format!(
        "not run: this Bulk request spent its time budget of {} s before reaching this operation; send it again",
        budget.as_secs()
    ))
}

impl DirectoryService {
    /// Runs a Bulk request; the answer is the BulkResponse body (status 200). Waves of independent creates run
    /// concurrently ([`order::waves`]); with `failOnErrors` every operation runs alone, so the count is exact.
    pub async fn bulk(&self, ctx: &RequestContext, request: &BulkRequest) -> Value {
        let started = std::time::Instant::now();
        let steps = order::schedule(&request.operations);
        let width = match request.fail_on_errors {
            Some(_) => 1,
            None => self.config.bulk_concurrency.max(1),
        };
        let mut created: HashMap<String, String> = HashMap::new();
        let mut results = Vec::with_capacity(request.operations.len());
        let mut errors = 0;
        for wave in order::waves(&request.operations, &steps, width) {
            if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
            let out_of_time = started.elapsed() >= self.config.bulk_time_budget;
            let created_so_far = &created;
            let runs = steps[wave].iter().map(|(index, step)| async move {
                let outcome = match step {
                    Err(err) => Err(err.clone()),
                    Ok(_) if out_of_time => Err(budget_spent(self.config.bulk_time_budget)),
                    Ok(op) => match order::resolve(op, created_so_far) {
                        Ok(op) => self.run_operation(ctx, &op).await,
                        Err(err) => Err(err),
                    },
                };
                (*index, outcome)
            });
            for (index, outcome) in futures::future::join_all(runs).await {
                let entry = &request.operations[index];
                match (&outcome, &entry.bulk_id) {
                    (Ok((_, Some(id))), Some(bulk_id)) => {
                        created.insert(bulk_id.clone(), id.clone());
                    }
                    (Err(_), _) => errors += 1,
                    _ => {}
                }
                results.push(OperationResult {
                    index,
                    method: entry.method.clone(),
                    bulk_id: entry.bulk_id.clone(),
                    outcome: outcome.map(|(done, _)| done),
                });
            }
        }
        bulk_response(results)
    }

    /// One resolved operation through the single-request entry point; a create also answers the new id.
    async fn run_operation(&self, ctx: &RequestContext, op: &Operation) -> Result<(Done, Option<String>), ScimError> {
        // Only `id` (always returned) is needed from the answer: no derived groups or members are read.
        let projection = Projection::parse(Some("id"), None)?;
        let id = ResourceId::new(match &op.target {
            Some(ResourceRef::Id(id)) => id.as_str(),
            // `order::resolve` replaced every bulkId; a POST has no target.
            Some(ResourceRef::BulkId(_)) | None => "",
        });
        let id = &id;
        let if_match = op.version.as_deref();
        match op.method {
            BulkMethod::Post => {
                let resource = self.create(ctx, op.kind, op.data.clone(), &projection).await?;
                let new_id = resource.body.get("id").and_then(Value::as_str).map(str::to_owned);
                Ok((done(201, &resource), new_id))
            }
            BulkMethod::Put => {
                let resource = self
                    .replace(ctx, op.kind, id, op.data.clone(), if_match, &projection)
                    .await?;
                Ok((done(200, &resource), None))
            }
            BulkMethod::Patch => {
                let location = Some(format!("{}{}/{id}", ctx.base_url, op.kind.endpoint()));
                let answer = match self.patch(ctx, op.kind, id, &op.data, if_match, &projection).await? {
                    PatchResponse::Resource(resource) => done(200, &resource),
                    PatchResponse::NoContent { version } => Done {
                        status: 204,
                        location,
                        version: version.map(etag),
                    },
                };
                Ok((answer, None))
            }
            BulkMethod::Delete => {
                self.delete(ctx, op.kind, id, if_match).await?;
                Ok((
                    Done {
                        status: 204,
                        location: None,
                        version: None,
                    },
                    None,
                ))
            }
        }
    }
}
