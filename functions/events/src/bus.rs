//! Amazon EventBridge as the pipeline's [`EventBus`]: one PutEvents call per ten entries.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use wif_events::bus::{BusEntry, SOURCE};
use wif_events::pipeline::EventBus;

pub struct EventBridgeBus {
    pub client: Client,
    pub bus_name: String,
}

#[async_trait::async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, entries: &[BusEntry]) -> Result<(), (usize, String)> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|entry| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(entry.detail_type)
                    .detail(&entry.detail)
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|err| (0, DisplayErrorContext(&err).to_string()))?;
        if output.failed_entry_count() == 0 {
            return Ok(());
        }
        // PutEvents answers entry by entry; the first refused one is where the stream must start again.
        let first = output
            .entries()
            .iter()
            .position(|e| e.error_code().is_some())
            .unwrap_or(0);
        let reason = output
            .entries()
            .get(first)
            .and_then(|e| e.error_code())
            .unwrap_or("refused")
            .to_owned();
        Err((first, reason))
    }
}
