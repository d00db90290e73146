//! Human-readable output: comfy-table tables (column widths and wrapping of long URLs are exactly what it is
//! for), RFC 3339 times, one-line messages. Notes that are not data (next-page cursors, "store this secret now")
//! go to stderr so stdout stays the result.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table};

use wif_admin_client::model::{
    AuditEvent, Client, ConnectionReport, CreatedSecret, CredentialChange, CredentialList, FederatedCredential,
    MarkerMigration, MembershipMigration, PushStatus, SecretList,
};

pub enum View {
    // Boxed: a Table is large and most views are built once and printed once.
    Table { table: Box<Table>, notes: Vec<String> },
    Text(String),
}

pub fn print(view: &View) {
    match view {
        View::Table { table, notes } => {
            println!("{table}");
            for note in notes {
                eprintln!("{note}");
            }
        }
        View::Text(text) => println!("{text}"),
    }
}

/// The terminal width when the shell exports it, else a width that fits a maximised laptop terminal.
fn width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|w| *w >= 60)
        .unwrap_or(160)
}

/// Field/value and check tables: long values (URLs, check details) wrap inside their cell.
fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width())
        .set_header(header.to_vec());
    table
}

/// Listings: one line per item, never wrapped (like kubectl), so ids and URLs can be copied and grepped.
fn listing(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

fn shorten(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut short: String = text.chars().take(max).collect();
    short.push('…');
    short
}

/// Ids are copied from the output into the next command: those columns are never wrapped.
fn keep_whole(table: &mut Table, columns: &[usize]) {
    for index in columns {
        if let Some(column) = table.column_mut(*index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

fn time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn methods(client: &Client) -> String {
    match (client.wif_enabled, client.secrets_enabled) {
        (true, true) => "wif+secrets".into(),
        (true, false) => "wif".into(),
        (false, true) => "secrets".into(),
        (false, false) => "none".into(),
    }
}

fn cursor_note(next_cursor: Option<&str>) -> Vec<String> {
    next_cursor
        .map(|cursor| vec![format!("more results: --cursor {cursor} (or --all)")])
        .unwrap_or_default()
}

pub fn client(client: &Client) -> View {
    let mut t = table(&["field", "value"]);
    let mut row = |name: &str, value: String| {
        t.add_row(vec![name.to_owned(), value]);
    };
    row("client_id", client.client_id.clone());
    row("tenant_id", client.tenant_id.clone());
    row("display_name", client.display_name.clone().unwrap_or_default());
    row("enabled", yes_no(client.enabled).into());
    row("auth methods", methods(client));
    for credential in &client.federated_credentials {
        row(
            &format!("credential {}", credential.credential_id),
            credential_lines(credential),
        );
    }
    row("scopes", client.scopes.join(" "));
    row("token lifetime", format!("{} s", client.token_lifetime_seconds));
    row("algorithms", client.allowed_algorithms.join(" "));
    let active = client.secrets.iter().filter(|s| s.status == "active").count();
    row("secrets", format!("{active} active, {} listed", client.secrets.len()));
    row("version", client.version.to_string());
    row("created", time(client.created_at));
    row("updated", time(client.updated_at));
    row("token URL (Entra)", client.token_url.clone());
    row("SCIM URL (Entra)", client.scim_url.clone());
    if let Some(events) = &client.events {
        row("events level", events.level.clone().unwrap_or_default());
        row(
            "events push URL",
            events.push_url.clone().unwrap_or_else(|| "(poll only)".into()),
        );
    }
    if let Some(url) = &client.events_url {
        row("events_url", url.clone());
    }
    if let Some(url) = &client.events_jwks_url {
        row("events_jwks_url", url.clone());
    }
    keep_whole(&mut t, &[0]);
    View::Table {
        table: Box::new(t),
        notes: warning_notes(&client.warnings),
    }
}

fn warning_notes(warnings: &[String]) -> Vec<String> {
    warnings.iter().map(|warning| format!("warning: {warning}")).collect()
}

/// A credential's values, one per line (they are what a customer compares with Entra's page).
fn credential_lines(credential: &FederatedCredential) -> String {
    let mut lines = vec![
        format!("issuer   {}", credential.issuer),
        format!("subject  {}", credential.subject),
        format!("audience {}", credential.audiences.join(" | ")),
        format!("jwks_uri {}", credential.jwks_uri),
    ];
    if let Some(tid) = &credential.expected_tid {
        lines.push(format!("tid      {tid}"));
    }
    lines.join("\n")
}

pub fn credential(credential: &FederatedCredential, warnings: &[String]) -> View {
    let mut t = table(&["field", "value"]);
    t.add_row(vec!["credential_id".to_owned(), credential.credential_id.clone()]);
    t.add_row(vec!["issuer".to_owned(), credential.issuer.clone()]);
    t.add_row(vec!["subject".to_owned(), credential.subject.clone()]);
    t.add_row(vec!["audiences".to_owned(), credential.audiences.join("\n")]);
    t.add_row(vec!["jwks_uri".to_owned(), credential.jwks_uri.clone()]);
    t.add_row(vec![
        "expected_tid".to_owned(),
        credential.expected_tid.clone().unwrap_or_default(),
    ]);
    t.add_row(vec!["created".to_owned(), time(credential.created_at)]);
    t.add_row(vec!["updated".to_owned(), time(credential.updated_at)]);
    keep_whole(&mut t, &[0]);
    View::Table {
        table: Box::new(t),
        notes: warning_notes(warnings),
    }
}

pub fn credential_change(change: &CredentialChange) -> View {
    let mut view = credential(&change.credential, &change.warnings);
    if let View::Table { notes, .. } = &mut view {
        notes.push(format!(
            "client {} is now at version {}",
            change.client_id, change.version
        ));
    }
    view
}

pub fn credential_list(list: &CredentialList) -> View {
    let mut t = listing(&["credential_id", "issuer", "subject", "audiences", "jwks_uri"]);
    for credential in &list.federated_credentials {
        t.add_row(vec![
            credential.credential_id.clone(),
            credential.issuer.clone(),
            credential.subject.clone(),
            credential.audiences.join(" "),
            credential.jwks_uri.clone(),
        ]);
    }
    View::Table {
        table: Box::new(t),
        notes: vec![format!(
            "{} credential(s) of client {} (version {})",
            list.federated_credentials.len(),
            list.client_id,
            list.version
        )],
    }
}

pub fn migration(report: &MarkerMigration) -> View {
    let mut t = listing(&["client_id", "issuer", "subject", "audience", "held by"]);
    for conflict in &report.conflicts {
        t.add_row(vec![
            conflict.client_id.clone(),
            conflict.issuer.clone(),
            conflict.subject.clone(),
            conflict.audience.clone(),
            conflict.held_by.clone().unwrap_or_default(),
        ]);
    }
    let mut notes = vec![format!(
        "{} registration(s) examined, {} migrated, {} left with a trust another registration holds",
        report.examined,
        report.migrated.len(),
        report.conflicts.len()
    )];
    if !report.conflicts.is_empty() {
        notes.push("decide which registration keeps each trust, change or delete the other, and run again".into());
    }
    View::Table {
        table: Box::new(t),
        notes,
    }
}

pub fn membership_migration(report: &MembershipMigration) -> View {
    let mut notes = vec![format!(
        "{} Directory item(s) examined, {} membership(s) migrated, {} orphaned membership(s) removed",
        report.examined, report.migrated, report.orphans_removed
    )];
    if report.skipped > 0 {
        notes.push(format!(
            "{} membership(s) of a user or group being deleted were left: run again once those deletes finished",
            report.skipped
        ));
    }
    View::Text(notes.join("\n"))
}

pub fn push(status: &PushStatus) -> View {
    let mut t = table(&["field", "value"]);
    let optional_time = |unix: Option<i64>| unix.map(time).unwrap_or_default();
    for (name, value) in [
        ("client_id", status.client_id.clone()),
        (
            "push URL",
            status.push_url.clone().unwrap_or_else(|| "(poll only)".into()),
        ),
        ("status", status.status.clone()),
        ("failures in a row", status.failures.to_string()),
        ("delivered", status.delivered.to_string()),
        ("last error", status.last_error.clone().unwrap_or_default()),
        ("next attempt", optional_time(status.next_attempt_at)),
        ("dead-lettered", optional_time(status.dead_lettered_at)),
        ("last delivered", optional_time(status.last_delivered_at)),
    ] {
        t.add_row(vec![name.to_owned(), value]);
    }
    keep_whole(&mut t, &[0]);
    let notes = match status.status.as_str() {
        "dead_letter" => vec![format!(
            "dead letter: run `wif-admin clients redeliver {}` once the endpoint is fixed",
            status.client_id
        )],
        _ => Vec::new(),
    };
    View::Table {
        table: Box::new(t),
        notes,
    }
}

pub fn client_list(clients: &[Client], next_cursor: Option<&str>) -> View {
    let mut t = listing(&["client_id", "tenant", "name", "enabled", "auth", "version", "issuer"]);
    for client in clients {
        t.add_row(vec![
            client.client_id.clone(),
            client.tenant_id.clone(),
            client.display_name.clone().unwrap_or_default(),
            yes_no(client.enabled).into(),
            methods(client),
            client.version.to_string(),
            client
                .federated_credentials
                .iter()
                .map(|credential| credential.issuer.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    let mut notes = vec![format!("{} client(s)", clients.len())];
    notes.extend(cursor_note(next_cursor));
    View::Table {
        table: Box::new(t),
        notes,
    }
}

pub fn report(report: &ConnectionReport) -> View {
    let mut t = table(&["check", "result", "detail"]);
    for check in &report.checks {
        let result = match (check.skipped, check.ok) {
            (true, _) => "skipped",
            (false, true) => "ok",
            (false, false) => "FAILED",
        };
        let name = match &check.credential_id {
            Some(credential) => format!("{} ({credential})", check.name),
            None => check.name.clone(),
        };
        t.add_row(vec![name, result.into(), check.detail.clone()]);
    }
    keep_whole(&mut t, &[0, 1]);
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let summary = if report.ok {
        format!("client {}: all checks passed", report.client_id)
    } else {
        format!("client {}: {failed} check(s) failed", report.client_id)
    };
    View::Table {
        table: Box::new(t),
        notes: vec![summary],
    }
}

pub fn created_secret(secret: &CreatedSecret) -> View {
    let mut t = table(&["field", "value"]);
    t.add_row(vec!["client_id".to_owned(), secret.client_id.clone()]);
    t.add_row(vec!["secret_id".to_owned(), secret.secret_id.clone()]);
    t.add_row(vec!["client_secret".to_owned(), secret.client_secret.clone()]);
    t.add_row(vec!["expires".to_owned(), time(secret.expires_at)]);
    t.add_row(vec![
        "description".to_owned(),
        secret.description.clone().unwrap_or_default(),
    ]);
    t.add_row(vec![
        "token auth methods".to_owned(),
        secret.token_endpoint_auth_methods.join(" "),
    ]);
    // The value is pasted into Entra: a wrapped secret would be copied with a line break in it.
    keep_whole(&mut t, &[0, 1]);
    View::Table {
        table: Box::new(t),
        notes: vec!["This is the only time the secret is shown: store it now (e.g. paste it into Entra).".into()],
    }
}

pub fn secret_list(list: &SecretList) -> View {
    let mut t = listing(&["secret_id", "status", "created", "expires", "description"]);
    for secret in &list.secrets {
        t.add_row(vec![
            secret.secret_id.clone(),
            secret.status.clone(),
            time(secret.created_at),
            time(secret.expires_at),
            secret.description.clone().unwrap_or_default(),
        ]);
    }
    View::Table {
        table: Box::new(t),
        notes: vec![format!(
            "{} of at most {} active; secrets {} for client {}",
            list.active,
            list.max_active,
            if list.secrets_enabled { "enabled" } else { "disabled" },
            list.client_id
        )],
    }
}

fn summary(event: &AuditEvent) -> String {
    if let Some(reason) = &event.reason {
        return reason.clone();
    }
    event
        .details
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => format!("{key}={text}"),
            other => format!("{key}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn audit(events: &[AuditEvent], next_cursor: Option<&str>) -> View {
    let mut t = listing(&["time", "action", "outcome", "client", "actor", "detail"]);
    for event in events {
        t.add_row(vec![
            time(event.at),
            event.action.clone(),
            event.outcome.clone(),
            event.client_id.clone().unwrap_or_default(),
            event.actor.clone().unwrap_or_default(),
            // The full details are in --json; a table row stays one readable line.
            shorten(summary(event), 100),
        ]);
    }
    let mut notes = vec![format!("{} event(s)", events.len())];
    notes.extend(cursor_note(next_cursor));
    View::Table {
        table: Box::new(t),
        notes,
    }
}
