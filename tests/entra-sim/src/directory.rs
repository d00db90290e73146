//! The source directory a provisioning cycle pushes: users and groups, read from JSON or CSV.
//!
//! JSON (`*.json`): `{"users":[...],"groups":[...]}` with SCIM-like member names, see [`DirectoryUser`] and
//! [`DirectoryGroup`]. CSV (`*.csv`): one user per row with the header names of [`CSV_COLUMNS`]; a `groups` column
//! lists the user's group display names separated by `;`. Groups can also be described in a sibling file
//! `<stem>.groups.csv` with columns `displayName,externalId,members` (members separated by `;`).
//!
//! Managers and group members refer to users by `externalId` or (case-insensitively) `userName`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Defaults to "givenName familyName", as Entra's default mapping Join(" ", givenName, surname) does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypedValue {
    pub value: String,
    #[serde(rename = "type", default = "work")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

fn work() -> String {
    "work".into()
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryUser {
    /// Entra's userPrincipalName; the matching attribute.
    pub user_name: String,
    /// Entra maps mailNickname here by default. Also the simulator's anchor for the object across cycles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    /// Only the `work` email is provisioned (Entra's default mapping `emails[type eq "work"].value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<TypedValue>,
    /// `work` and `mobile` numbers are provisioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<TypedValue>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// The manager's `externalId` or `userName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

impl DirectoryUser {
    pub fn new(user_name: impl Into<String>) -> Self {
        DirectoryUser {
            user_name: user_name.into(),
            external_id: None,
            display_name: None,
            name: None,
            emails: Vec::new(),
            phone_numbers: Vec::new(),
            active: true,
            title: None,
            preferred_language: None,
            department: None,
            employee_number: None,
            cost_center: None,
            organization: None,
            division: None,
            manager: None,
        }
    }

    /// The key that identifies this user across cycles: externalId, or the lower-cased userName without one.
    pub fn anchor(&self) -> String {
        match &self.external_id {
            Some(id) => format!("x:{id}"),
            None => format!("u:{}", self.user_name.to_lowercase()),
        }
    }

    pub fn work_email(&self) -> Option<&str> {
        typed(&self.emails, "work")
    }

    pub fn phone(&self, kind: &str) -> Option<&str> {
        typed(&self.phone_numbers, kind)
    }

    /// `name.formatted` as Entra sends it: the source's own, else its default mapping
    /// `Join(" ", givenName, surname)`; `None` without a name or with nothing to join.
    pub fn formatted_name(&self) -> Option<String> {
        let name = self.name.as_ref()?;
        if let Some(f) = &name.formatted {
            return Some(f.clone());
        }
        let joined = [name.given_name.as_deref(), name.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    }
}

fn typed<'a>(values: &'a [TypedValue], kind: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|v| v.kind.eq_ignore_ascii_case(kind))
        .map(|v| v.value.as_str())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryGroup {
    pub display_name: String,
    /// Entra maps the group's objectId here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Users by `externalId` or `userName`.
    #[serde(default)]
    pub members: Vec<String>,
}

impl DirectoryGroup {
    pub fn anchor(&self) -> String {
        match &self.external_id {
            Some(id) => format!("x:{id}"),
            None => format!("d:{}", self.display_name.to_lowercase()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
}

/// Column names a users CSV may have (any order; only `userName` is required).
pub const CSV_COLUMNS: &[&str] = &[
    "userName",
    "externalId",
    "displayName",
    "givenName",
    "familyName",
    "formatted",
    "email",
    "workPhone",
    "mobilePhone",
    "active",
    "title",
    "preferredLanguage",
    "department",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "manager",
    "groups",
];

impl Directory {
    /// Reads `.json` or `.csv` (see the module docs) and validates references.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::io(path, e))?;
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let dir = if is_csv {
            let groups_path = sibling_groups_file(path);
            let groups_text = match std::fs::read_to_string(&groups_path) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(SimError::io(groups_path, e)),
            };
            Self::from_csv(&text, groups_text.as_deref()).map_err(|detail| SimError::Directory {
                path: path.to_path_buf(),
                detail,
            })?
        } else {
            serde_json::from_str(&text).map_err(|e| SimError::Directory {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?
        };
        dir.validate().map_err(|detail| SimError::Directory {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(dir)
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let dir: Directory = serde_json::from_str(text).map_err(|e| SimError::Json {
            what: "directory".into(),
            detail: e.to_string(),
        })?;
        dir.validate().map_err(|detail| SimError::Json {
            what: "directory".into(),
            detail,
        })?;
        Ok(dir)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses the CSV convention of the module docs. Errors name the row.
    pub fn from_csv(users_csv: &str, groups_csv: Option<&str>) -> std::result::Result<Self, String> {
        let (users, group_columns) = csv_users(users_csv)?;
        let mut groups = match groups_csv {
            Some(text) => csv_groups(text)?,
            None => Vec::new(),
        };
        for (name, members) in group_columns {
            match groups.iter_mut().find(|g| g.display_name.eq_ignore_ascii_case(&name)) {
                Some(g) => g.members.extend(members),
                None => groups.push(DirectoryGroup {
                    display_name: name,
                    external_id: None,
                    members,
                }),
            }
        }
        Ok(Directory { users, groups })
    }

    /// Unique userNames, externalIds and group names; every manager and member reference resolves.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let mut names = HashSet::new();
        let mut externals = HashSet::new();
        for u in &self.users {
            if u.user_name.trim().is_empty() {
                return Err("a user has an empty userName".into());
            }
            if !names.insert(u.user_name.to_lowercase()) {
                return Err(format!(
                    "userName {:?} appears twice (userNames are case-insensitive)",
                    u.user_name
                ));
            }
            if let Some(x) = &u.external_id
                && !externals.insert(x.clone())
            {
                return Err(format!("user externalId {x:?} appears twice"));
            }
        }
        let index = self.user_index();
        for u in &self.users {
            if let Some(m) = &u.manager {
                let Some(&idx) = index.get(m.as_str()).or_else(|| index.get(m.to_lowercase().as_str())) else {
                    return Err(format!("manager {m:?} of {} is not a user in the file", u.user_name));
                };
                if self.users[idx].user_name == u.user_name {
                    return Err(format!("{} is their own manager", u.user_name));
                }
            }
        }
        let mut group_names = HashSet::new();
        let mut group_externals = HashSet::new();
        for g in &self.groups {
            if g.display_name.trim().is_empty() {
                return Err("a group has an empty displayName".into());
            }
            if !group_names.insert(g.display_name.to_lowercase()) {
                return Err(format!(
                    "group {:?} appears twice (Entra matches groups by displayName)",
                    g.display_name
                ));
            }
            if let Some(x) = &g.external_id
                && !group_externals.insert(x.clone())
            {
                return Err(format!("group externalId {x:?} appears twice"));
            }
            for m in &g.members {
                if self.resolve_user(m).is_none() {
                    return Err(format!(
                        "member {m:?} of group {:?} is not a user in the file",
                        g.display_name
                    ));
                }
            }
        }
        Ok(())
    }

    /// Finds a user by externalId, then by userName (case-insensitive).
    pub fn resolve_user(&self, reference: &str) -> Option<&DirectoryUser> {
        self.users
            .iter()
            .find(|u| u.external_id.as_deref() == Some(reference))
            .or_else(|| self.users.iter().find(|u| u.user_name.eq_ignore_ascii_case(reference)))
    }

    fn user_index(&self) -> HashMap<String, usize> {
        let mut index = HashMap::new();
        for (i, u) in self.users.iter().enumerate() {
            index.insert(u.user_name.to_lowercase(), i);
        }
        // externalIds win over userNames when both could match.
        for (i, u) in self.users.iter().enumerate() {
            if let Some(x) = &u.external_id {
                index.insert(x.clone(), i);
            }
        }
        index
    }
}

fn sibling_groups_file(users_csv: &Path) -> PathBuf {
    let stem = users_csv.file_stem().and_then(|s| s.to_str()).unwrap_or("users");
    users_csv.with_file_name(format!("{stem}.groups.csv"))
}

pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// One CSV row, read by column name; empty cells are absent.
struct CsvRow<'a> {
    headers: &'a csv::StringRecord,
    row: &'a csv::StringRecord,
}

impl CsvRow<'_> {
    fn get(&self, col: &str) -> Option<String> {
        self.headers
            .iter()
            .position(|h| h == col)
            .and_then(|idx| self.row.get(idx))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// `;`-separated list cells (`groups`, `members`).
fn csv_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// Member references by group name, from the users file's `groups` column.
type GroupColumn = BTreeMap<String, Vec<String>>;

/// The users file: the users, and the members each group gets from the `groups` column.
fn csv_users(text: &str) -> std::result::Result<(Vec<DirectoryUser>, GroupColumn), String> {
    let mut reader = csv_reader(text);
    let headers = reader.headers().map_err(|e| format!("header row: {e}"))?.clone();
    for h in headers.iter() {
        if !CSV_COLUMNS.contains(&h) {
            return Err(format!("unknown column {h:?} (known: {})", CSV_COLUMNS.join(", ")));
        }
    }
    let mut users = Vec::new();
    let mut group_members = GroupColumn::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("row {line}: {e}"))?;
        let cells = CsvRow {
            headers: &headers,
            row: &row,
        };
        let user = csv_user(&cells, line)?;
        if let Some(groups) = cells.get("groups") {
            let member_ref = user.external_id.clone().unwrap_or_else(|| user.user_name.clone());
            for g in csv_list(&groups) {
                group_members.entry(g.to_string()).or_default().push(member_ref.clone());
            }
        }
        users.push(user);
    }
    Ok((users, group_members))
}

fn csv_user(cells: &CsvRow<'_>, line: usize) -> std::result::Result<DirectoryUser, String> {
    let get = |col: &str| cells.get(col);
    let user_name = get("userName").ok_or_else(|| format!("row {line}: userName is empty"))?;
    let mut user = DirectoryUser::new(user_name);
    user.external_id = get("externalId");
    user.display_name = get("displayName");
    let (given, family, formatted) = (get("givenName"), get("familyName"), get("formatted"));
    if given.is_some() || family.is_some() || formatted.is_some() {
        user.name = Some(PersonName {
            given_name: given,
            family_name: family,
            formatted,
        });
    }
    if let Some(email) = get("email") {
        user.emails.push(TypedValue {
            value: email,
            kind: "work".into(),
            primary: true,
        });
    }
    for (col, kind) in [("workPhone", "work"), ("mobilePhone", "mobile")] {
        if let Some(value) = get(col) {
            user.phone_numbers.push(TypedValue {
                value,
                kind: kind.into(),
                primary: false,
            });
        }
    }
    if let Some(active) = get("active") {
        user.active = parse_bool(&active).ok_or_else(|| format!("row {line}: active must be true/false"))?;
    }
    user.title = get("title");
    user.preferred_language = get("preferredLanguage");
    user.department = get("department");
    user.employee_number = get("employeeNumber");
    user.cost_center = get("costCenter");
    user.organization = get("organization");
    user.division = get("division");
    user.manager = get("manager");
    Ok(user)
}

/// The groups file: display name, externalId and `;`-separated members per row.
fn csv_groups(text: &str) -> std::result::Result<Vec<DirectoryGroup>, String> {
    let mut reader = csv_reader(text);
    let headers = reader.headers().map_err(|e| format!("groups header row: {e}"))?.clone();
    for h in headers.iter() {
        if !["displayName", "externalId", "members"].contains(&h) {
            return Err(format!("groups file: unknown column {h:?}"));
        }
    }
    let mut groups = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("groups row {line}: {e}"))?;
        let cells = CsvRow {
            headers: &headers,
            row: &row,
        };
        let display_name = cells
            .get("displayName")
            .ok_or_else(|| format!("groups row {line}: displayName is empty"))?;
        let members = cells
            .get("members")
            .map(|m| csv_list(&m).map(str::to_string).collect())
            .unwrap_or_default();
        groups.push(DirectoryGroup {
            display_name,
            external_id: cells.get("externalId"),
            members,
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_directory_parses_and_validates_references() {
        let dir = Directory::from_json(
            r#"{"users":[
                {"userName":"ann@contoso.com","externalId":"ann","emails":[{"value":"ann@contoso.com"}]},
                {"userName":"bob@contoso.com","manager":"ann","active":false}
              ],
              "groups":[{"displayName":"Sales","members":["ann","BOB@contoso.com"]}]}"#,
        )
        .expect("valid");
        assert_eq!(dir.users[0].work_email(), Some("ann@contoso.com"));
        assert!(!dir.users[1].active);
        assert_eq!(
            dir.resolve_user("bob@CONTOSO.com").map(|u| u.user_name.as_str()),
            Some("bob@contoso.com")
        );
    }

    #[test]
    fn invalid_directories_are_rejected_with_a_reason() {
        let cases = [
            (r#"{"users":[{"userName":"a"},{"userName":"A"}]}"#, "appears twice"),
            (r#"{"users":[{"userName":"a","manager":"zed"}]}"#, "not a user"),
            (r#"{"users":[{"userName":"a","manager":"a"}]}"#, "own manager"),
            (
                r#"{"users":[],"groups":[{"displayName":"g","members":["x"]}]}"#,
                "not a user",
            ),
            (r#"{"users":[{"userName":"a","colour":"red"}]}"#, "unknown field"),
        ];
        for (text, expected) in cases {
            let err = Directory::from_json(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn csv_convention_with_groups_column_and_groups_file() {
        let users = "userName,externalId,givenName,familyName,email,active,manager,groups\n\
                     ann@c.com,ann,Ann,Lee,ann@c.com,true,,Sales;Everyone\n\
                     bob@c.com,bob,Bob,Ray,bob@c.com,false,ann,Everyone\n";
        let groups = "displayName,externalId,members\nEveryone,g-all,\nAdmins,g-adm,ann\n";
        let dir = Directory::from_csv(users, Some(groups)).expect("csv");
        dir.validate().expect("valid");
        assert_eq!(dir.users.len(), 2);
        assert!(!dir.users[1].active);
        assert_eq!(dir.users[1].manager.as_deref(), Some("ann"));
        let everyone = dir.groups.iter().find(|g| g.display_name == "Everyone").expect("group");
        assert_eq!(everyone.external_id.as_deref(), Some("g-all"));
        assert_eq!(everyone.members, ["ann", "bob"]);
        assert!(dir.groups.iter().any(|g| g.display_name == "Sales"));
        assert!(Directory::from_csv("userName,shoeSize\na,1\n", None).is_err());
        assert!(Directory::from_csv("userName,active\na,maybe\n", None).is_err());
    }
}
