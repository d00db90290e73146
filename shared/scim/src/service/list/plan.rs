//! The fast paths of one resource kind: which conjunct of a filter names a key the store can look up (`id`,
//! `userName`, `externalId`, the work e-mail, `displayName`, a member), so that the candidates are read by key
//! instead of by scanning the tenant; and what else the filter reads (derived `groups` / `members`).

use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{GROUP_SCHEMA, ResourceKind, USER_SCHEMA};
use crate::store::ResourceId;

/// How the candidates of one resource kind are found.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Plan {
    Id(ResourceId),
    UserName(String),
    ExternalId(String),
    WorkEmail(String),
    DisplayName(String),
    MemberOf(ResourceId),
    Scan,
}

impl Plan {
    /// The key a fast path looks up; `None` for a scan.
    pub(super) fn key(&self) -> Option<&str> {
        match self {
            Plan::Id(id) | Plan::MemberOf(id) => Some(id.as_str()),
            Plan::UserName(v) | Plan::ExternalId(v) | Plan::WorkEmail(v) | Plan::DisplayName(v) => Some(v),
            Plan::Scan => None,
        }
    }

    /// Lower is cheaper and more selective: the plan of a conjunction is its best conjunct's.
    fn rank(&self) -> u8 {
        match self {
            Plan::Id(_) => 0,
            Plan::UserName(_) => 1,
            Plan::ExternalId(_) => 2,
            Plan::WorkEmail(_) | Plan::DisplayName(_) => 3,
            Plan::MemberOf(_) => 4,
            Plan::Scan => 9,
        }
    }
}

fn conjuncts<'a>(filter: &'a Filter, out: &mut Vec<&'a Filter>) {
    match filter {
        Filter::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

fn core_path(path: &AttrPath, kind: ResourceKind) -> bool {
    let core = match kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    path.schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(core))
}

fn string_eq(filter: &Filter) -> Option<(&AttrPath, &str)> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value),
        } => Some((path, value.as_str())),
        _ => None,
    }
}

fn is_member_path(path: &AttrPath) -> bool {
    path.is("members", None) || path.is("members", Some("value"))
}

/// `emails[type eq "work" and value eq "x"]` (how Entra's `emails[type eq "work"].value eq "x"` parses).
fn work_email(filter: &Filter) -> Option<String> {
    let Filter::ValuePath { path, filter } = filter else {
        return None;
    };
    if !path.is("emails", None)
        || path
            .schema
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(USER_SCHEMA))
    {
        return None;
    }
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut is_work = false;
    let mut value = None;
    for part in parts {
        match string_eq(part) {
            Some((p, v)) if p.is("type", None) && v.eq_ignore_ascii_case("work") => is_work = true,
            Some((p, v)) if p.is("value", None) => value = Some(v.to_owned()),
            _ => {}
        }
    }
    if is_work { value } else { None }
}

/// The fast path one conjunct offers, if any.
fn conjunct_plan(part: &Filter, kind: ResourceKind) -> Plan {
    match (kind, string_eq(part)) {
        (_, Some((p, v))) if p.is("id", None) && core_path(p, kind) => Plan::Id(ResourceId::new(v)),
        (ResourceKind::User, Some((p, v))) if p.is("userName", None) && core_path(p, kind) => {
            Plan::UserName(v.to_owned())
        }
        (_, Some((p, v))) if p.is("externalId", None) && core_path(p, kind) => Plan::ExternalId(v.to_owned()),
        (ResourceKind::Group, Some((p, v))) if p.is("displayName", None) && core_path(p, kind) => {
            Plan::DisplayName(v.to_owned())
        }
        (ResourceKind::Group, Some((p, v))) if is_member_path(p) && core_path(p, kind) => {
            Plan::MemberOf(ResourceId::new(v))
        }
        (ResourceKind::User, None) => work_email(part).map(Plan::WorkEmail).unwrap_or(Plan::Scan),
        _ => Plan::Scan,
    }
}

pub(super) fn plan(filter: Option<&Filter>, kind: ResourceKind) -> Plan {
    let Some(filter) = filter else {
        return Plan::Scan;
    };
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    parts
        .into_iter()
        .map(|part| conjunct_plan(part, kind))
        .fold(Plan::Scan, |best, candidate| {
            if candidate.rank() < best.rank() {
                candidate
            } else {
                best
            }
        })
}

/// Whether the filter reads a derived attribute (`groups` of users, `members` of groups).
pub(super) fn names_attribute(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => names_attribute(a, name) || names_attribute(b, name),
        Filter::Not(inner) => names_attribute(inner, name),
        Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => {
            path.name.eq_ignore_ascii_case(name)
        }
    }
}

/// The single member id a filter asks about with `members eq` / `members.value eq`, when there is exactly one.
pub(super) fn single_member(filter: &Filter) -> Option<String> {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let ids: Vec<&str> = parts
        .iter()
        .filter_map(|p| string_eq(p))
        .filter(|(p, _)| is_member_path(p))
        .map(|(_, v)| v)
        .collect();
    (ids.len() == 1 && !names_attribute_outside_eq(filter)).then(|| ids[0].to_owned())
}

/// True when `members` appears anywhere other than a top-level `members eq` conjunct.
pub(super) fn names_attribute_outside_eq(filter: &Filter) -> bool {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    parts.iter().any(|p| {
        let is_member_eq = string_eq(p).is_some_and(|(path, _)| is_member_path(path));
        !is_member_eq && names_attribute(p, "members")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entra_compat;
    use crate::schema::ResourceSchema;

    fn parsed(text: &str, kind: ResourceKind) -> Filter {
        entra_compat::filter::parse_and_validate(text, ResourceSchema::for_kind(kind)).unwrap()
    }

    #[test]
    fn recognises_every_entra_fast_path() {
        let user = ResourceKind::User;
        let group = ResourceKind::Group;
        assert_eq!(
            plan(Some(&parsed(r#"userName eq "a@b.c""#, user)), user),
            Plan::UserName("a@b.c".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"externalId eq "X""#, user)), user),
            Plan::ExternalId("X".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"id eq "1""#, user)), user),
            Plan::Id(ResourceId::new("1"))
        );
        assert_eq!(
            plan(Some(&parsed(r#"emails[type eq "work"].value eq "a@b.c""#, user)), user),
            Plan::WorkEmail("a@b.c".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"id eq "1" and manager eq "m""#, user)), user),
            Plan::Id(ResourceId::new("1"))
        );
        assert_eq!(
            plan(Some(&parsed(r#"displayName eq "G""#, group)), group),
            Plan::DisplayName("G".into())
        );
        assert_eq!(
            plan(Some(&parsed(r#"id eq "g" and members eq "u""#, group)), group),
            Plan::Id(ResourceId::new("g"))
        );
        assert_eq!(
            plan(Some(&parsed(r#"members.value eq "u""#, group)), group),
            Plan::MemberOf(ResourceId::new("u"))
        );
        assert_eq!(plan(Some(&parsed(r#"userName co "a""#, user)), user), Plan::Scan);
        assert_eq!(
            plan(Some(&parsed(r#"userName eq "a" or userName eq "b""#, user)), user),
            Plan::Scan
        );
        assert_eq!(
            single_member(&parsed(r#"id eq "g" and members eq "u""#, group)),
            Some("u".into())
        );
    }
}
