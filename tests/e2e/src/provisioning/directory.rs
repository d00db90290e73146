//! Reading a tenant's whole directory back through the SCIM API, and comparing it with the source file.

use std::collections::{BTreeSet, HashMap};

use entra_sim::provision::CycleReport;
use entra_sim::{Directory, DirectoryUser, Provisioner};
use serde_json::{Value, json};

use super::Tenant;
use crate::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};

/// Everything the SCIM API holds for one tenant: users, and groups with their members.
#[derive(Debug, Default)]
pub struct ServerDirectory {
    pub users: Vec<Value>,
    pub groups: Vec<Value>,
    /// Whether the users were read with their derived `groups` attribute (one index query per user).
    pub user_groups: bool,
}

impl ServerDirectory {
    /// Reads every user and group through the SCIM API (index pagination; each group re-read by id for its full
    /// member list, as `excludedAttributes=members` is what listing groups should use).
    pub async fn read(tenant: &Tenant, token: &str) -> ServerDirectory {
        Self::read_with(tenant, token, true).await
    }

    /// [`Self::read`], optionally without the users' derived `groups` attribute (then not compared).
    pub async fn read_with(tenant: &Tenant, token: &str, user_groups: bool) -> ServerDirectory {
        let extra = if user_groups { "" } else { "&excludedAttributes=groups" };
        let users = list_all(tenant, token, "/Users", extra).await;
        let listed = list_all(tenant, token, "/Groups", "&excludedAttributes=members").await;
        let mut groups = Vec::with_capacity(listed.len());
        for g in listed {
            let id = g["id"].as_str().expect("group id");
            let (status, full) = tenant.get(token, &format!("/Groups/{id}")).await;
            assert_eq!(status, 200, "GET /Groups/{id}: {full}");
            assert!(
                g.get("members").is_none(),
                "excludedAttributes=members was not honoured in a list: {g}"
            );
            groups.push(full);
        }
        ServerDirectory {
            users,
            groups,
            user_groups,
        }
    }

    pub fn user_by_name(&self, user_name: &str) -> Option<&Value> {
        self.users.iter().find(|u| {
            u["userName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
        })
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.users
            .iter()
            .chain(self.groups.iter())
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn list_all(tenant: &Tenant, token: &str, resource: &str, extra: &str) -> Vec<Value> {
    const PAGE: u64 = 100;
    // Cursor pages (RFC 9865) cost one page each; index pages re-read from the start.
    let total = tenant.total(token, &format!("{resource}?count=0")).await;
    let mut out: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        let (status, page) = tenant
            .get(token, &format!("{resource}?count={PAGE}&cursor={encoded}{extra}"))
            .await;
        assert_eq!(status, 200, "GET {resource} cursor page: {page}");
        out.extend(page["Resources"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_owned(),
            _ => break,
        }
        assert!(
            out.len() as u64 <= total,
            "{resource}: cursor pages go past totalResults {total}"
        );
    }
    assert_eq!(
        out.len() as u64,
        total,
        "{resource}: cursor pages do not add up to totalResults"
    );
    let ids: BTreeSet<&str> = out.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), out.len(), "{resource}: a resource appears on two pages");
    out
}

/// Ids of every `resource` through index pagination (`startIndex`/`count`), for comparing with cursor reads.
pub async fn ids_by_index_pages(tenant: &Tenant, token: &str, resource: &str, page: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = 1u64;
    loop {
        let (status, body) = tenant
            .get(
                token,
                &format!("{resource}?startIndex={start}&count={page}&attributes=id"),
            )
            .await;
        assert_eq!(status, 200, "GET {resource} startIndex {start}: {body}");
        let total = body["totalResults"].as_u64().expect("totalResults");
        let items = body["Resources"].as_array().cloned().unwrap_or_default();
        ids.extend(items.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)));
        if items.is_empty() || ids.len() as u64 >= total {
            return ids;
        }
        start += items.len() as u64;
    }
}

/// What the server must hold after a clean cycle of `source`, compared field by field. `soft_deleted` are users
/// no longer in the file that the job disabled instead of deleting (they stay, inactive, and keep the group
/// memberships they had in `previous`, since Entra unlinks only users it still provisions). Returns every
/// difference, so one failure shows the whole picture.
pub fn state_differences(
    source: &Directory,
    server: &ServerDirectory,
    soft_deleted: &[DirectoryUser],
    previous: Option<&Directory>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut id_of: HashMap<String, String> = HashMap::new();
    for u in &server.users {
        if let (Some(name), Some(id)) = (u["userName"].as_str(), u["id"].as_str())
            && id_of.insert(name.to_lowercase(), id.to_owned()).is_some()
        {
            diffs.push(format!("userName {name} exists twice"));
        }
    }
    let expected_users = source.users.len() + soft_deleted.len();
    if server.users.len() != expected_users {
        diffs.push(format!(
            "{} users on the server, {expected_users} expected",
            server.users.len()
        ));
    }
    let known: BTreeSet<String> = source
        .users
        .iter()
        .chain(soft_deleted)
        .map(|u| u.user_name.to_lowercase())
        .collect();
    for u in &server.users {
        let name = u["userName"].as_str().unwrap_or_default().to_lowercase();
        if !known.contains(&name) {
            diffs.push(format!("unexpected user on the server: {u}"));
        }
    }
    // The derived `groups` attribute of each user must agree with the groups' member lists.
    let mut groups_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    for g in &server.groups {
        let group_id = g["id"].as_str().unwrap_or_default();
        for m in g.get("members").and_then(Value::as_array).into_iter().flatten() {
            if let Some(user_id) = m["value"].as_str() {
                groups_of
                    .entry(user_id.to_owned())
                    .or_default()
                    .insert(group_id.to_owned());
            }
        }
    }
    let resolve_id = |dir: &Directory, reference: &str| -> Option<String> {
        dir.resolve_user(reference)
            .and_then(|m| id_of.get(&m.user_name.to_lowercase()).cloned())
    };

    for u in &source.users {
        let Some(actual) = server.user_by_name(&u.user_name) else {
            diffs.push(format!("user {} is missing", u.user_name));
            continue;
        };
        let who = &u.user_name;
        let check = |diffs: &mut Vec<String>, field: &str, expected: Option<Value>, actual: Option<&Value>| {
            let actual = actual.filter(|v| !v.is_null());
            if expected.as_ref() != actual {
                diffs.push(format!("{who}: {field} is {actual:?}, expected {expected:?}"));
            }
        };
        let s = |v: &Option<String>| v.as_ref().map(|v| json!(v));
        check(&mut diffs, "userName", Some(json!(u.user_name)), actual.get("userName"));
        check(&mut diffs, "externalId", s(&u.external_id), actual.get("externalId"));
        check(&mut diffs, "displayName", s(&u.display_name), actual.get("displayName"));
        check(&mut diffs, "active", Some(json!(u.active)), actual.get("active"));
        check(&mut diffs, "title", s(&u.title), actual.get("title"));
        check(
            &mut diffs,
            "preferredLanguage",
            s(&u.preferred_language),
            actual.get("preferredLanguage"),
        );
        let name = u.name.clone().unwrap_or_default();
        check(
            &mut diffs,
            "name.givenName",
            s(&name.given_name),
            actual.pointer("/name/givenName"),
        );
        check(
            &mut diffs,
            "name.familyName",
            s(&name.family_name),
            actual.pointer("/name/familyName"),
        );
        let formatted = u.formatted_name();
        check(
            &mut diffs,
            "name.formatted",
            s(&formatted),
            actual.pointer("/name/formatted"),
        );
        let typed = |attr: &str, kinds: &[&str]| -> BTreeSet<(String, String)> {
            actual
                .get(attr)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let kind = item["type"].as_str()?.to_lowercase();
                    kinds
                        .contains(&kind.as_str())
                        .then(|| (kind, item["value"].as_str().unwrap_or_default().to_owned()))
                })
                .collect()
        };
        let expected_emails: BTreeSet<(String, String)> = u
            .work_email()
            .map(|e| ("work".to_owned(), e.to_owned()))
            .into_iter()
            .collect();
        let actual_emails = typed("emails", &["work"]);
        if actual_emails != expected_emails {
            diffs.push(format!("{who}: emails {actual_emails:?}, expected {expected_emails:?}"));
        }
        let email_count = actual.get("emails").and_then(Value::as_array).map_or(0, Vec::len);
        if email_count != expected_emails.len() {
            diffs.push(format!(
                "{who}: {email_count} emails, expected {}",
                expected_emails.len()
            ));
        }
        let expected_phones: BTreeSet<(String, String)> = ["work", "mobile"]
            .into_iter()
            .filter_map(|k| u.phone(k).map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        let actual_phones = typed("phoneNumbers", &["work", "mobile"]);
        if actual_phones != expected_phones {
            diffs.push(format!(
                "{who}: phoneNumbers {actual_phones:?}, expected {expected_phones:?}"
            ));
        }
        let enterprise = actual.get(ENTERPRISE);
        for (field, expected) in [
            ("employeeNumber", &u.employee_number),
            ("department", &u.department),
            ("costCenter", &u.cost_center),
            ("organization", &u.organization),
            ("division", &u.division),
        ] {
            check(
                &mut diffs,
                &format!("enterprise {field}"),
                s(expected),
                enterprise.and_then(|e| e.get(field)),
            );
        }
        let expected_manager = u.manager.as_deref().map(|m| match resolve_id(source, m) {
            Some(id) => json!(id),
            None => json!(format!("<manager {m} not on the server>")),
        });
        check(
            &mut diffs,
            "enterprise manager.value",
            expected_manager,
            enterprise.and_then(|e| e.get("manager")).and_then(|m| m.get("value")),
        );
        let schemas = actual["schemas"].as_array().cloned().unwrap_or_default();
        if !schemas.iter().any(|s| s == USER_SCHEMA) {
            diffs.push(format!("{who}: schemas {schemas:?} lack the core User schema"));
        }
        if enterprise.is_some() && !schemas.iter().any(|s| s == ENTERPRISE) {
            diffs.push(format!("{who}: enterprise attributes without the extension in schemas"));
        }
        let expected_groups = groups_of
            .get(actual["id"].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        let actual_groups: BTreeSet<String> = actual
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g["value"].as_str().map(str::to_owned))
            .collect();
        if server.user_groups && actual_groups != expected_groups {
            diffs.push(format!(
                "{who}: groups attribute {actual_groups:?}, but the groups list the user in {expected_groups:?}"
            ));
        }
        if actual.pointer("/meta/resourceType") != Some(&json!("User")) {
            diffs.push(format!(
                "{who}: meta.resourceType is {:?}",
                actual.pointer("/meta/resourceType")
            ));
        }
    }
    for u in soft_deleted {
        match server.user_by_name(&u.user_name) {
            None => diffs.push(format!("soft-deleted user {} is gone", u.user_name)),
            Some(actual) if actual["active"] != json!(false) => diffs.push(format!(
                "soft-deleted user {} has active {}",
                u.user_name, actual["active"]
            )),
            Some(_) => {}
        }
    }

    if server.groups.len() != source.groups.len() {
        diffs.push(format!(
            "{} groups on the server, {} expected",
            server.groups.len(),
            source.groups.len()
        ));
    }
    let soft: BTreeSet<String> = soft_deleted.iter().map(DirectoryUser::anchor).collect();
    for g in &source.groups {
        let Some(actual) = server
            .groups
            .iter()
            .find(|a| a["displayName"].as_str() == Some(g.display_name.as_str()))
        else {
            diffs.push(format!("group {} is missing", g.display_name));
            continue;
        };
        let who = &g.display_name;
        if actual.get("externalId").and_then(Value::as_str) != g.external_id.as_deref() {
            diffs.push(format!(
                "{who}: externalId {:?}, expected {:?}",
                actual["externalId"], g.external_id
            ));
        }
        let mut expected: BTreeSet<String> = g
            .members
            .iter()
            .map(|m| resolve_id(source, m).unwrap_or_else(|| format!("<member {m} not on the server>")))
            .collect();
        if let Some(prev) =
            previous.and_then(|p| p.groups.iter().find(|pg| pg.anchor() == g.anchor()).map(|pg| (p, pg)))
        {
            let (prev_dir, prev_group) = prev;
            for m in &prev_group.members {
                if let Some(user) = prev_dir.resolve_user(m).filter(|u| soft.contains(&u.anchor()))
                    && let Some(id) = id_of.get(&user.user_name.to_lowercase())
                {
                    expected.insert(id.clone());
                }
            }
        }
        let members = actual
            .get("members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let actual_ids: BTreeSet<String> = members
            .iter()
            .filter_map(|m| m["value"].as_str().map(str::to_owned))
            .collect();
        if members.len() != actual_ids.len() {
            diffs.push(format!(
                "{who}: duplicate members ({} entries, {} ids)",
                members.len(),
                actual_ids.len()
            ));
        }
        if actual_ids != expected {
            let missing: Vec<_> = expected.difference(&actual_ids).take(5).collect();
            let extra: Vec<_> = actual_ids.difference(&expected).take(5).collect();
            diffs.push(format!(
                "{who}: {} members, expected {}; missing e.g. {missing:?}, extra e.g. {extra:?}",
                actual_ids.len(),
                expected.len()
            ));
        }
        let schemas = actual["schemas"].as_array().cloned().unwrap_or_default();
        if !schemas.iter().any(|s| s == GROUP_SCHEMA) {
            diffs.push(format!("{who}: schemas {schemas:?} lack the core Group schema"));
        }
    }
    diffs
}

/// Asserts [`state_differences`] is empty, printing the first differences.
pub fn assert_state(
    source: &Directory,
    server: &ServerDirectory,
    soft_deleted: &[DirectoryUser],
    previous: Option<&Directory>,
) {
    let diffs = state_differences(source, server, soft_deleted, previous);
    assert!(
        diffs.is_empty(),
        "{} differences between the source file and the SCIM API, first ones:\n{}",
        diffs.len(),
        diffs.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Asserts the provisioner's own record of ids agrees with the server (what a real job keeps between cycles).
pub fn assert_job_state_matches(provisioner: &Provisioner, server: &ServerDirectory) {
    let state = provisioner.state();
    for known in state.users.values() {
        let actual = server
            .user_by_name(&known.user_name)
            .unwrap_or_else(|| panic!("the job knows {} but the server does not", known.user_name));
        assert_eq!(
            actual["id"].as_str(),
            Some(known.id.as_str()),
            "id of {}",
            known.user_name
        );
    }
    for known in state.groups.values() {
        let actual = server
            .groups
            .iter()
            .find(|g| g["id"].as_str() == Some(known.id.as_str()))
            .unwrap_or_else(|| panic!("the job knows group {} but the server does not", known.display_name));
        assert_eq!(actual["displayName"].as_str(), Some(known.display_name.as_str()));
    }
}

/// A clean cycle: no per-object error.
pub fn assert_clean(report: &CycleReport, what: &str) {
    assert!(report.is_clean(), "{what}: cycle had errors:\n{}", report.summary());
}
