//! A deterministic sample directory (a fictional Contoso) and a "changed" second-cycle version of it.
//!
//! The committed files in `fixtures/` are this generator's output (`entra-sim sample`); a unit test keeps
//! them in sync. Same seed, same directory, so a test can predict every count of a cycle.

use std::collections::BTreeSet;

use crate::directory::{Directory, DirectoryGroup, DirectoryUser, PersonName, TypedValue};

const FIRST: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Amara",
    "Ana",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Christie",
    "Dai",
    "Daniel",
    "Diego",
    "Elena",
    "Emily",
    "Enrico",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Henrietta",
    "Ibrahim",
    "Irvin",
    "Isaiah",
    "Jana",
    "Johanna",
    "Joni",
    "Kenji",
    "Lara",
    "Lee",
    "Lidia",
    "Lynne",
    "Malik",
    "Megan",
    "Miriam",
    "Nestor",
    "Nia",
    "Noah",
    "Olga",
    "Omar",
    "Patti",
    "Pradeep",
    "Priya",
    "Raul",
    "Rosa",
    "Sakura",
    "Samir",
    "Sofia",
    "Tariq",
    "Thea",
    "Tomas",
    "Uma",
    "Victor",
    "Wei",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoe",
];

const LAST: &[&str] = &[
    "Adams",
    "Alvarez",
    "Andersen",
    "Bauer",
    "Becker",
    "Brown",
    "Chandra",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fernandes",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Gupta",
    "Haddad",
    "Hansen",
    "Hughes",
    "Ito",
    "Jansen",
    "Johnson",
    "Kaur",
    "Khan",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Mendes",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Suzuki",
    "Tanaka",
    "Torres",
    "Usman",
    "Vargas",
    "Wagner",
    "Walker",
    "Weber",
    "Wilson",
    "Wong",
    "Yilmaz",
    "Zhang",
    "Zimmermann",
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("Engineering", "Software Engineer"),
    ("Sales", "Account Executive"),
    ("Marketing", "Marketing Specialist"),
    ("Finance", "Financial Analyst"),
    ("Human Resources", "HR Generalist"),
    ("Customer Support", "Support Engineer"),
    ("Operations", "Operations Analyst"),
    ("Legal", "Paralegal"),
];

pub const DOMAIN: &str = "contoso.com";
/// The big group has this many members, to exercise batched membership PATCHes.
pub const ALL_STAFF_MEMBERS: usize = 250;

/// xorshift64*: tiny, deterministic, good enough to shuffle names.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `count` users (at least 1 + 2 per department) in a hierarchy: a CEO, a head per department reporting to the
/// CEO, team leads reporting to heads, and individual contributors reporting to leads. Every 40th user is
/// disabled. Groups: "All Staff" (the first 250 users), one per department, and "Managers".
pub fn generate(count: usize) -> Directory {
    let count = count.max(1 + 2 * DEPARTMENTS.len());
    let mut rng = Rng(0x5EED_C0FF_EE15_600D);
    let mut used = BTreeSet::new();
    let mut users: Vec<DirectoryUser> = Vec::with_capacity(count);
    for i in 0..count {
        let (first, last) = loop {
            let pair = (rng.pick(FIRST), rng.pick(LAST));
            let nick = format!("{}.{}", pair.0, pair.1).to_lowercase();
            if used.insert(nick) {
                break pair;
            }
            if used.len() >= FIRST.len() * LAST.len() {
                break pair;
            }
        };
        let (department, title, manager) = position(i, &users);
        users.push(sample_user(i, first, last, department, title, manager));
    }
    let groups = sample_groups(&users);
    Directory { users, groups }
}

/// Department, title and manager (externalId) of the `i`th user: the CEO, then a head per department reporting
/// to the CEO, then two team leads per department reporting to its head, then contributors reporting to a lead.
fn position(i: usize, users: &[DirectoryUser]) -> (&'static str, String, Option<String>) {
    let heads = DEPARTMENTS.len();
    if i == 0 {
        return ("Executive", "Chief Executive Officer".to_string(), None);
    }
    if i <= heads {
        let (d, _) = DEPARTMENTS[i - 1];
        return (d, format!("Head of {d}"), users[0].external_id.clone());
    }
    let dept = (i - 1) % heads;
    let (d, role) = DEPARTMENTS[dept];
    let head = 1 + dept;
    // The first two people of each department after its head lead teams; the rest report to a lead.
    let rank = (i - 1 - heads) / heads;
    if rank < 2 {
        (d, format!("{d} Team Lead"), users[head].external_id.clone())
    } else {
        let lead = 1 + heads + dept + heads * (rank % 2);
        (d, role.to_string(), users[lead].external_id.clone())
    }
}

fn sample_user(
    i: usize,
    first: &str,
    last: &str,
    department: &str,
    title: String,
    manager: Option<String>,
) -> DirectoryUser {
    let nick = format!("{first}.{last}").to_lowercase();
    let mut u = DirectoryUser::new(format!("{nick}@{DOMAIN}"));
    u.external_id = Some(nick.clone());
    u.display_name = Some(format!("{first} {last}"));
    u.name = Some(PersonName {
        given_name: Some(first.to_string()),
        family_name: Some(last.to_string()),
        formatted: None,
    });
    u.emails.push(TypedValue {
        value: format!("{nick}@{DOMAIN}"),
        kind: "work".into(),
        primary: true,
    });
    u.phone_numbers.push(TypedValue {
        value: format!("+1 425 555 {:04}", 1000 + i),
        kind: "work".into(),
        primary: false,
    });
    u.active = i == 0 || !i.is_multiple_of(40);
    u.title = Some(title);
    u.preferred_language = Some("en-US".into());
    u.department = Some(department.to_string());
    u.employee_number = Some(format!("{}", 100_000 + i));
    u.cost_center = Some(format!(
        "CC-{:03}",
        100 + DEPARTMENTS.iter().position(|(d, _)| *d == department).unwrap_or(99)
    ));
    u.manager = manager;
    u
}

/// "All Staff" (the first 250 users), one group per department, and "Managers".
fn sample_groups(users: &[DirectoryUser]) -> Vec<DirectoryGroup> {
    let heads = DEPARTMENTS.len();
    let reference = |u: &DirectoryUser| u.external_id.clone().unwrap_or_else(|| u.user_name.clone());
    let mut groups = vec![DirectoryGroup {
        display_name: "All Staff".into(),
        external_id: Some(group_guid(0)),
        members: users.iter().take(ALL_STAFF_MEMBERS).map(reference).collect(),
    }];
    for (n, (dept, _)) in DEPARTMENTS.iter().enumerate() {
        groups.push(DirectoryGroup {
            display_name: format!("{dept} Team"),
            external_id: Some(group_guid(n + 1)),
            members: users
                .iter()
                .filter(|u| u.department.as_deref() == Some(*dept))
                .map(reference)
                .collect(),
        });
    }
    groups.push(DirectoryGroup {
        display_name: "Managers".into(),
        external_id: Some(group_guid(DEPARTMENTS.len() + 1)),
        members: users.iter().take(1 + 3 * heads).map(reference).collect(),
    });
    groups
}

fn group_guid(n: usize) -> String {
    format!("6f1c2a7e-0000-4000-8000-{:012}", n + 1)
}

/// The numbers a second cycle with [`changed`] must produce (the fixture tests assert them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeSummary {
    pub users_updated: u64,
    pub users_disabled: u64,
    pub users_deleted: u64,
    pub groups_updated: u64,
    pub groups_deleted: u64,
    pub memberships_added: u64,
    pub memberships_removed: u64,
}

/// The directory one cycle later: title changes, two department moves (new manager), managers cleared,
/// users disabled, users deleted, "Managers" renamed, "Legal Team" deleted, membership changes in "All Staff".
pub fn changed(base: &Directory) -> (Directory, ChangeSummary) {
    let mut dir = base.clone();
    let managers: BTreeSet<String> = dir.users.iter().filter_map(|u| u.manager.clone()).collect();
    let is_ic = |u: &DirectoryUser| u.external_id.as_ref().is_some_and(|x| !managers.contains(x));
    let deleted = delete_contributors(&mut dir, &is_ic);
    let ic_indexes: Vec<usize> = (0..dir.users.len())
        .filter(|&i| is_ic(&dir.users[i]) && dir.users[i].active)
        .collect();
    let (updated, disabled) = change_users(&mut dir, &ic_indexes);
    let (memberships_added, memberships_removed) = change_all_staff(&mut dir);
    let (groups_updated, groups_deleted) = rename_and_delete_groups(&mut dir);
    (
        dir,
        ChangeSummary {
            users_updated: updated,
            users_disabled: disabled,
            users_deleted: deleted,
            // "All Staff" membership, plus the rename.
            groups_updated: 1 + groups_updated,
            groups_deleted,
            memberships_added,
            memberships_removed,
        },
    )
}

/// Deletes the last 8 individual contributors (nobody reports to them), also from every group; how many.
fn delete_contributors(dir: &mut Directory, is_ic: &dyn Fn(&DirectoryUser) -> bool) -> u64 {
    let mut deleted = Vec::new();
    for u in dir.users.iter().rev() {
        if deleted.len() == 8 {
            break;
        }
        if is_ic(u) {
            deleted.push(u.external_id.clone().unwrap_or_default());
        }
    }
    dir.users
        .retain(|u| !u.external_id.as_ref().is_some_and(|x| deleted.contains(x)));
    for g in &mut dir.groups {
        g.members.retain(|m| !deleted.contains(m));
    }
    deleted.len() as u64
}

/// Promotions, department moves, cleared managers, disables, an email and a surname change, among the active
/// individual contributors; (updated, disabled).
fn change_users(dir: &mut Directory, ic_indexes: &[usize]) -> (u64, u64) {
    let mut updated = 0u64;
    // 10 promotions (title only).
    for &i in ic_indexes.iter().take(10) {
        let u = &mut dir.users[i];
        u.title = u.title.as_ref().map(|t| format!("Senior {t}"));
        updated += 1;
    }
    // 2 department moves: new department, new manager (the other department's head).
    for &i in ic_indexes.iter().skip(10).take(2) {
        let target = if dir.users[i].department.as_deref() == Some("Engineering") {
            2
        } else {
            1
        };
        let head = dir.users[target].external_id.clone();
        let dept = dir.users[target].department.clone();
        let u = &mut dir.users[i];
        u.department = dept;
        u.manager = head;
        updated += 1;
    }
    // 2 managers cleared (contractors about to leave).
    for &i in ic_indexes.iter().skip(12).take(2) {
        dir.users[i].manager = None;
        updated += 1;
    }
    // 5 users disabled.
    let mut disabled = 0u64;
    for &i in ic_indexes.iter().skip(14).take(5) {
        dir.users[i].active = false;
        disabled += 1;
    }
    (updated + change_contact_details(dir, ic_indexes), disabled)
}

/// One email change and one surname change; how many users changed.
fn change_contact_details(dir: &mut Directory, ic_indexes: &[usize]) -> u64 {
    let mut updated = 0u64;
    if let Some(&i) = ic_indexes.get(19) {
        let u = &mut dir.users[i];
        if let Some(e) = u.emails.first_mut() {
            e.value = e.value.replace('@', ".work@");
        }
        updated += 1;
    }
    if let Some(&i) = ic_indexes.get(20) {
        let u = &mut dir.users[i];
        if let Some(n) = u.name.as_mut() {
            n.family_name = Some("Okonkwo".into());
        }
        u.display_name = u
            .display_name
            .as_ref()
            .map(|d| format!("{} Okonkwo", d.split(' ').next().unwrap_or(d)));
        updated += 1;
    }
    updated
}

/// "All Staff": 10 members leave, 5 users not yet in it join; (added, removed).
fn change_all_staff(dir: &mut Directory) -> (u64, u64) {
    let heads = DEPARTMENTS.len();
    let reference = |u: &DirectoryUser| u.external_id.clone().unwrap_or_else(|| u.user_name.clone());
    let outsiders: Vec<String> = dir
        .users
        .iter()
        .map(reference)
        .filter(|r| !dir.groups[0].members.contains(r))
        .take(5)
        .collect();
    let all_staff = &mut dir.groups[0];
    let leaving: Vec<String> = all_staff.members.iter().skip(1 + 3 * heads).take(10).cloned().collect();
    all_staff.members.retain(|m| !leaving.contains(m));
    let added = outsiders.len() as u64;
    all_staff.members.extend(outsiders);
    (added, leaving.len() as u64)
}

/// "Managers" is renamed; "Legal Team" goes away; (renamed, deleted).
fn rename_and_delete_groups(dir: &mut Directory) -> (u64, u64) {
    let mut renamed = 0u64;
    if let Some(g) = dir.groups.iter_mut().find(|g| g.display_name == "Managers") {
        g.display_name = "People Managers".into();
        renamed += 1;
    }
    let before = dir.groups.len();
    dir.groups.retain(|g| g.display_name != "Legal Team");
    (renamed, (before - dir.groups.len()) as u64)
}

/// The CSV convention of [`crate::directory`]: a users file and a groups file.
pub fn to_csv(dir: &Directory) -> (String, String) {
    let mut users = csv::Writer::from_writer(Vec::new());
    let columns = [
        "userName",
        "externalId",
        "displayName",
        "givenName",
        "familyName",
        "email",
        "workPhone",
        "active",
        "title",
        "preferredLanguage",
        "department",
        "employeeNumber",
        "costCenter",
        "manager",
    ];
    // Writing into a Vec cannot fail; the results are ignored for that reason.
    let _ = users.write_record(columns);
    for u in &dir.users {
        let name = u.name.clone().unwrap_or_default();
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let _ = users.write_record([
            u.user_name.clone(),
            o(&u.external_id),
            o(&u.display_name),
            o(&name.given_name),
            o(&name.family_name),
            u.work_email().unwrap_or_default().to_string(),
            u.phone("work").unwrap_or_default().to_string(),
            u.active.to_string(),
            o(&u.title),
            o(&u.preferred_language),
            o(&u.department),
            o(&u.employee_number),
            o(&u.cost_center),
            o(&u.manager),
        ]);
    }
    let mut groups = csv::Writer::from_writer(Vec::new());
    let _ = groups.write_record(["displayName", "externalId", "members"]);
    for g in &dir.groups {
        let _ = groups.write_record([
            g.display_name.clone(),
            g.external_id.clone().unwrap_or_default(),
            g.members.join(";"),
        ]);
    }
    let text = |w: csv::Writer<Vec<u8>>| String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    (text(users), text(groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_deterministic_valid_and_shaped_as_documented() {
        let a = generate(300);
        assert_eq!(a, generate(300));
        a.validate().expect("valid");
        assert_eq!(a.users.len(), 300);
        assert_eq!(a.groups[0].members.len(), ALL_STAFF_MEMBERS);
        assert!(a.users.iter().filter(|u| !u.active).count() >= 5);
        assert!(a.users[0].manager.is_none());
        assert!(a.users[1..].iter().all(|u| u.manager.is_some()));
        let (b, summary) = changed(&a);
        b.validate().expect("changed is valid");
        assert_eq!(a.users.len() - b.users.len(), summary.users_deleted as usize);
        assert_eq!(summary.users_disabled, 5);
        assert_eq!(summary.groups_deleted, 1);
    }

    #[test]
    fn csv_export_reads_back_as_the_same_directory() {
        let base = generate(60);
        let (users, groups) = to_csv(&base);
        let back = Directory::from_csv(&users, Some(&groups)).expect("csv");
        back.validate().expect("valid");
        assert_eq!(back.users.len(), base.users.len());
        assert_eq!(back.users[5], {
            let mut u = base.users[5].clone();
            // The CSV convention derives the work email's primary flag and has no formatted name column.
            u.emails[0].primary = true;
            u
        });
        assert_eq!(back.groups, base.groups);
    }

    #[test]
    fn committed_fixtures_match_the_generator() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let base = Directory::load(&dir.join("directory.json")).expect("fixtures/directory.json");
        assert_eq!(base, generate(300), "regenerate with `entra-sim sample --out fixtures`");
        let changed_file =
            Directory::load(&dir.join("directory-changed.json")).expect("fixtures/directory-changed.json");
        assert_eq!(changed_file, changed(&base).0);
    }
}
