//! The events pipeline's AWS resources, created in moto the way infra/template.yaml creates them in AWS.

use aws_sdk_kms::types::{KeySpec, KeyUsageType};

fn failed(what: &'static str) -> impl Fn(String) -> String {
    move |err| format!("{what}: {err}")
}

/// Creates the signing key, the bus, its tap queue (a rule routes every event of ours into it) and the dead-letter
/// queue, then prints their environment variables.
pub async fn create(prefix: &str) -> Result<(), String> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description("SCIM event signing key (local stack)")
        .send()
        .await
        .map_err(|e| failed("create the KMS key")(e.to_string()))?;
    let key_id = key.key_metadata().map(|m| m.key_id().to_owned()).unwrap_or_default();

    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_arn = |url: String| {
        let sqs = sqs.clone();
        async move {
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| failed("read a queue ARN")(e.to_string()))?;
            let arn = attributes
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
                .cloned()
                .unwrap_or_default();
            Ok::<(String, String), String>((url, arn))
        }
    };
    let create_queue = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.create_queue()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| failed("create a queue")(e.to_string()))
                .map(|out| out.queue_url().unwrap_or_default().to_owned())
        }
    };
    let (tap_url, tap_arn) = queue_arn(create_queue(format!("{prefix}-events-bus-tap")).await?).await?;
    let dead_letters = create_queue(format!("{prefix}-events-stream-dlq")).await?;

    let bus = format!("{prefix}-events");
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    eventbridge
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .map_err(|e| failed("create the bus")(e.to_string()))?;
    let rule = format!("{prefix}-events-tap");
    eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["wif.scim"]}"#)
        .send()
        .await
        .map_err(|e| failed("create the tap rule")(e.to_string()))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("tap")
        .arn(tap_arn)
        .build()
        .map_err(|e| failed("build the tap target")(e.to_string()))?;
    eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| failed("attach the tap queue")(e.to_string()))?;

    println!("WIF_EVENTS_SIGNING_KEY={key_id}");
    println!("WIF_EVENTS_BUS={bus}");
    println!("WIF_LOCAL_EVENTS_BUS_TAP_URL={tap_url}");
    println!("WIF_LOCAL_EVENTS_STREAM_DLQ_URL={dead_letters}");
    Ok(())
}
