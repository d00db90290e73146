//! The cold-start benchmark's reference (benches/cold_start.rs): the smallest useful Lambda with our dependency
//! choices. A `lambda_http` handler, logging set up as cargo-lambda's template does, one aws-sdk-dynamodb client
//! built at start, and one GetItem per request (table `REFERENCE_TABLE`, default `reference`).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("REFERENCE_TABLE").unwrap_or_else(|_| "reference".to_owned());
    run(service_fn(move |_request: Request| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("hello".to_owned()))
                .send()
                .await?;
            let text = if item.item().is_some() { "hello, again" } else { "hello" };
            Ok::<_, Error>(Response::builder().status(200).body(Body::from(text))?)
        }
    }))
    .await
}
