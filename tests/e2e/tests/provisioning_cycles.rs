//! Full provisioning cycles through the running local stack, driven by the Entra stand-in exactly as Entra's
//! provisioning service drives an ISV: initial cycle, idempotent re-run (zero writes), a changed file (updates,
//! disables, deletes or soft-deletes, manager changes, membership changes, a group rename and a group delete),
//! in both PATCH dialects; two tenants provisioned in parallel without leaking into each other. After each cycle
//! the whole directory is read back through the SCIM API and compared field by field with the source file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use e2e_tests::LocalStack;
use e2e_tests::provisioning::{
    ServerDirectory, Tenant, assert_clean, assert_job_state_matches, assert_state, filter, ids_by_index_pages,
    with_domain,
};
use entra_sim::provision::CycleReport;
use entra_sim::{Dialect, Directory, DirectoryUser, RemovalAction, TokenVersion, sample};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../entra-sim/fixtures")).join(name)
}

fn memberships(dir: &Directory) -> u64 {
    dir.groups.iter().map(|g| g.members.len() as u64).sum()
}

fn with_manager(dir: &Directory) -> u64 {
    dir.users.iter().filter(|u| u.manager.is_some()).count() as u64
}

/// Users present in both files whose manager differs (set, changed or cleared).
fn manager_changes(before: &Directory, after: &Directory) -> u64 {
    after
        .users
        .iter()
        .filter(|u| {
            before
                .users
                .iter()
                .find(|b| b.anchor() == u.anchor())
                .is_some_and(|b| b.manager != u.manager)
        })
        .count() as u64
}

fn removed_users(before: &Directory, after: &Directory) -> Vec<DirectoryUser> {
    let kept: BTreeSet<String> = after.users.iter().map(DirectoryUser::anchor).collect();
    before
        .users
        .iter()
        .filter(|u| !kept.contains(&u.anchor()))
        .cloned()
        .collect()
}

/// An idempotent re-run: only reads, every object unchanged.
fn assert_read_only(report: &CycleReport, dir: &Directory, what: &str) {
    assert_clean(report, what);
    assert_eq!(report.writes(), 0, "{what}: writes in a re-run:\n{}", report.summary());
    assert_eq!(report.changes(), 0, "{what}: {}", report.summary());
    assert_eq!(
        report.users.unchanged,
        dir.users.len() as u64,
        "{what}: {}",
        report.summary()
    );
    assert_eq!(
        report.groups.unchanged,
        dir.groups.len() as u64,
        "{what}: {}",
        report.summary()
    );
    assert!(
        report.requests_by_kind.keys().all(|k| k.starts_with("GET")),
        "{what}: {:?}",
        report.requests_by_kind
    );
}

fn assert_initial(report: &CycleReport, dir: &Directory, what: &str) {
    assert_clean(report, what);
    let s = report.summary();
    assert_eq!(report.users.created, dir.users.len() as u64, "{what}: {s}");
    assert_eq!(report.groups.created, dir.groups.len() as u64, "{what}: {s}");
    assert_eq!(report.memberships_added, memberships(dir), "{what}: {s}");
    assert_eq!(report.managers_changed, with_manager(dir), "{what}: {s}");
    assert_eq!(report.users.deleted + report.groups.deleted, 0, "{what}: {s}");
    assert_eq!(report.token_requests, 1, "{what}: one token serves a whole cycle: {s}");
}

/// The README's sample directory (300 users, 10 groups incl. a 250-member one) and its changed version, in
/// Entra's default dialect (string booleans, value-list member removal), deletions as DELETE.
#[tokio::test]
async fn sample_directory_full_cycles_in_the_default_dialect() {
    let Some(stack) = LocalStack::get() else { return };
    let base = Directory::load(&fixture("directory.json")).expect("fixture");
    let changed = Directory::load(&fixture("directory-changed.json")).expect("fixture");
    // The committed files are the generator's output, so its change summary predicts the second cycle.
    let (regenerated, expected) = sample::changed(&base);
    assert_eq!(
        regenerated, changed,
        "directory-changed.json is not sample::changed(directory.json)"
    );

    let tenant = Tenant::register(&stack, TokenVersion::V2).await;
    let mut job = tenant.provisioner(&stack.scim_url, Dialect::Default, RemovalAction::Delete);
    let reader = tenant.token().await;

    let report = job.run_cycle(&base).await.expect("initial cycle");
    println!("initial cycle (300 users):\n{}", report.summary());
    assert_initial(&report, &base, "initial cycle");
    let after_initial = ServerDirectory::read(&tenant, &reader).await;
    assert_state(&base, &after_initial, &[], None);
    assert_job_state_matches(&job, &after_initial);
    // Index pagination (what most SCIM clients use) lists exactly what cursor pagination does.
    let by_index: BTreeSet<String> = ids_by_index_pages(&tenant, &reader, "/Users", 70)
        .await
        .into_iter()
        .collect();
    let by_cursor: BTreeSet<String> = after_initial
        .users
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(by_index, by_cursor, "index and cursor pages disagree");

    let rerun = job.run_cycle(&base).await.expect("re-run");
    assert_read_only(&rerun, &base, "re-run of the same file");

    let report = job.run_cycle(&changed).await.expect("changed cycle");
    println!("changed cycle:\n{}", report.summary());
    assert_clean(&report, "changed cycle");
    let s = report.summary();
    assert_eq!(report.users.updated, expected.users_updated, "{s}");
    assert_eq!(report.users.disabled, expected.users_disabled, "{s}");
    assert_eq!(report.users.deleted, expected.users_deleted, "{s}");
    assert_eq!(report.users.created, 0, "{s}");
    assert_eq!(report.groups.updated, expected.groups_updated, "{s}");
    assert_eq!(report.groups.deleted, expected.groups_deleted, "{s}");
    assert_eq!(report.memberships_added, expected.memberships_added, "{s}");
    assert_eq!(report.memberships_removed, expected.memberships_removed, "{s}");
    assert_eq!(report.managers_changed, manager_changes(&base, &changed), "{s}");
    assert_eq!(
        report.users.unchanged,
        changed.users.len() as u64 - expected.users_updated - expected.users_disabled,
        "{s}"
    );
    let after_change = ServerDirectory::read(&tenant, &reader).await;
    assert_state(&changed, &after_change, &[], None);
    assert_job_state_matches(&job, &after_change);

    // Deleted objects are gone by id, not merely unlisted; survivors kept their ids.
    for u in removed_users(&base, &changed) {
        let old = after_initial.user_by_name(&u.user_name).expect("was provisioned");
        let id = old["id"].as_str().expect("id");
        let (status, body) = tenant.get(&reader, &format!("/Users/{id}")).await;
        assert_eq!(status, 404, "deleted user {} still answers: {body}", u.user_name);
        let total = tenant
            .total(
                &reader,
                &format!("/Users?{}", filter(&format!("userName eq \"{}\"", u.user_name))),
            )
            .await;
        assert_eq!(total, 0, "deleted user {} still matches a filter", u.user_name);
    }
    let legal = after_initial
        .groups
        .iter()
        .find(|g| g["displayName"] == "Legal Team")
        .expect("Legal Team");
    let (status, _) = tenant
        .get(&reader, &format!("/Groups/{}", legal["id"].as_str().expect("id")))
        .await;
    assert_eq!(status, 404, "the deleted group still answers");
    let kept_ids: BTreeSet<String> = after_change.ids();
    let initial_ids: BTreeSet<String> = after_initial.ids();
    assert!(
        kept_ids.is_subset(&initial_ids),
        "a second cycle must not re-create objects"
    );

    let rerun = job.run_cycle(&changed).await.expect("re-run of the changed file");
    assert_read_only(&rerun, &changed, "re-run of the changed file");
}

/// The `aadOptscim062020` dialect (lowercase ops, JSON booleans, path-less multi-attribute replace,
/// `members[value eq ".."]` removal), with users removed from the file soft-deleted (disabled) instead.
#[tokio::test]
async fn generated_directory_full_cycles_in_the_aad_opt_scim_062020_dialect_with_soft_delete() {
    let Some(stack) = LocalStack::get() else { return };
    let base = sample::generate(60);
    let (changed, expected) = sample::changed(&base);
    let soft_deleted = removed_users(&base, &changed);
    assert_eq!(soft_deleted.len() as u64, expected.users_deleted);
    // The sample is big enough for every kind of change the generator makes.
    assert!(
        expected.users_updated >= 10
            && expected.users_disabled > 0
            && expected.users_deleted > 0
            && expected.memberships_removed > 0
            && manager_changes(&base, &changed) > 0,
        "{expected:?}"
    );

    let tenant = Tenant::register(&stack, TokenVersion::V1).await;
    let mut job = tenant.provisioner(&stack.scim_url, Dialect::AadOptscim062020, RemovalAction::Disable);
    let reader = tenant.token().await;

    let report = job.run_cycle(&base).await.expect("initial cycle");
    assert_initial(&report, &base, "initial cycle");
    assert_state(&base, &ServerDirectory::read(&tenant, &reader).await, &[], None);
    assert_read_only(&job.run_cycle(&base).await.expect("re-run"), &base, "re-run");

    let report = job.run_cycle(&changed).await.expect("changed cycle");
    assert_clean(&report, "changed cycle");
    let s = report.summary();
    assert_eq!(report.users.updated, expected.users_updated, "{s}");
    assert_eq!(
        report.users.disabled,
        expected.users_disabled + expected.users_deleted,
        "{s}"
    );
    assert_eq!(report.users.deleted, 0, "{s}");
    assert_eq!(report.groups.updated, expected.groups_updated, "{s}");
    assert_eq!(report.groups.deleted, expected.groups_deleted, "{s}");
    assert_eq!(report.memberships_added, expected.memberships_added, "{s}");
    assert_eq!(report.memberships_removed, expected.memberships_removed, "{s}");
    assert_eq!(report.managers_changed, manager_changes(&base, &changed), "{s}");
    let server = ServerDirectory::read(&tenant, &reader).await;
    assert_state(&changed, &server, &soft_deleted, Some(&base));
    assert_job_state_matches(&job, &server);
    // Entra's lookups still find soft-deleted users (inactive users are returned by filters).
    for u in &soft_deleted {
        let (status, list) = tenant
            .get(
                &reader,
                &format!("/Users?{}", filter(&format!("userName eq \"{}\"", u.user_name))),
            )
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["totalResults"], 1, "{}: {list}", u.user_name);
        assert_eq!(list["Resources"][0]["active"], false, "{}: {list}", u.user_name);
    }

    let rerun = job.run_cycle(&changed).await.expect("re-run of the changed file");
    assert_read_only(&rerun, &changed, "re-run of the changed file");
}

/// Two customers provisioning at the same time. Tenant B's directory shares 30 userNames, externalIds and every
/// group name with tenant A's (uniqueness is per tenant, so no 409), and A has 20 users B does not: B's token
/// must see none of A's objects by id, by filter or in lists, and must not be able to change them.
#[tokio::test]
async fn two_tenants_provisioned_in_parallel_never_see_each_other() {
    let Some(stack) = LocalStack::get() else { return };
    let dir_a = sample::generate(50);
    let dir_b = sample::generate(30);
    let a = Tenant::register(&stack, TokenVersion::V2).await;
    let b = Tenant::register(&stack, TokenVersion::V1).await;
    assert_ne!(a.tenant_id, b.tenant_id);
    let mut job_a = a.provisioner(&stack.scim_url, Dialect::Default, RemovalAction::Delete);
    let mut job_b = b.provisioner(&stack.scim_url, Dialect::AadOptscim062020, RemovalAction::Delete);

    let (report_a, report_b) = tokio::join!(job_a.run_cycle(&dir_a), job_b.run_cycle(&dir_b));
    let (report_a, report_b) = (report_a.expect("cycle A"), report_b.expect("cycle B"));
    assert_initial(&report_a, &dir_a, "tenant A");
    assert_initial(&report_b, &dir_b, "tenant B");

    let token_a = a.token().await;
    let token_b = b.token().await;
    let server_a = ServerDirectory::read(&a, &token_a).await;
    let server_b = ServerDirectory::read(&b, &token_b).await;
    assert_state(&dir_a, &server_a, &[], None);
    assert_state(&dir_b, &server_b, &[], None);
    assert!(
        server_a.ids().is_disjoint(&server_b.ids()),
        "two tenants share resource ids"
    );

    // By id: 404 (never 403: that would confirm the id exists), for reads and writes alike.
    for user in &server_a.users {
        let id = user["id"].as_str().expect("id");
        let (status, body) = b.get(&token_b, &format!("/Users/{id}")).await;
        assert_eq!(status, 404, "B reads A's user {id}: {body}");
    }
    for group in &server_a.groups {
        let id = group["id"].as_str().expect("id");
        let (status, body) = b
            .get(&token_b, &format!("/Groups/{id}?excludedAttributes=members"))
            .await;
        assert_eq!(status, 404, "B reads A's group {id}: {body}");
    }
    let victim = server_a.users[0]["id"].as_str().expect("id").to_owned();
    let victim_group = server_a.groups[0]["id"].as_str().expect("id").to_owned();
    let disable = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    });
    let (status, _) = b
        .send(
            &token_b,
            reqwest::Method::PATCH,
            &format!("/Users/{victim}"),
            Some(disable),
        )
        .await;
    assert_eq!(status, 404, "B patched A's user");
    let (status, _) = b
        .send(
            &token_b,
            reqwest::Method::DELETE,
            &format!("/Groups/{victim_group}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "B deleted A's group");
    let (status, _) = b
        .send(&token_b, reqwest::Method::DELETE, &format!("/Users/{victim}"), None)
        .await;
    assert_eq!(status, 404, "B deleted A's user");

    // By filter: A's extra users do not exist for B; shared names resolve to B's own objects only.
    for u in &dir_a.users[dir_b.users.len()..] {
        for expression in [
            format!("userName eq \"{}\"", u.user_name),
            format!("externalId eq \"{}\"", u.external_id.as_deref().unwrap_or_default()),
        ] {
            let total = b.total(&token_b, &format!("/Users?{}", filter(&expression))).await;
            assert_eq!(total, 0, "B finds A's user with {expression}");
        }
    }
    for u in dir_b.users.iter().take(10) {
        let (status, list) = b
            .get(
                &token_b,
                &format!("/Users?{}", filter(&format!("userName eq \"{}\"", u.user_name))),
            )
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["totalResults"], 1, "{list}");
        let own = server_b.user_by_name(&u.user_name).expect("B's user");
        assert_eq!(list["Resources"][0]["id"], own["id"], "B's filter answered A's object");
    }
    let (status, list) = b
        .get(
            &token_b,
            &format!(
                "/Groups?excludedAttributes=members&{}",
                filter("displayName eq \"All Staff\"")
            ),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 1, "{list}");
    let a_all_staff = server_a
        .groups
        .iter()
        .find(|g| g["displayName"] == "All Staff")
        .expect("A's All Staff");
    assert_ne!(list["Resources"][0]["id"], a_all_staff["id"]);
    // Entra's membership check across tenants: nothing.
    let expression = format!(
        "id eq \"{}\" and members eq \"{victim}\"",
        a_all_staff["id"].as_str().expect("id")
    );
    assert_eq!(b.total(&token_b, &format!("/Groups?{}", filter(&expression))).await, 0);
    // Lists and counts are B's own.
    assert_eq!(b.total(&token_b, "/Users?count=0").await, dir_b.users.len() as u64);
    assert_eq!(b.total(&token_b, "/Groups?count=0").await, dir_b.groups.len() as u64);

    // A is untouched by everything B tried.
    assert_state(&dir_a, &ServerDirectory::read(&a, &token_a).await, &[], None);
    // And each job's re-run still changes nothing.
    let (rerun_a, rerun_b) = tokio::join!(job_a.run_cycle(&dir_a), job_b.run_cycle(&dir_b));
    assert_read_only(&rerun_a.expect("re-run A"), &dir_a, "tenant A re-run");
    assert_read_only(&rerun_b.expect("re-run B"), &dir_b, "tenant B re-run");
}

/// Same userNames under another domain in the same tenant are different users (the sample's userNames are
/// unique per domain only), and a directory moved wholesale to a new domain is provisioned as renames.
#[tokio::test]
async fn a_domain_rename_is_provisioned_as_user_name_changes() {
    let Some(stack) = LocalStack::get() else { return };
    let base = sample::generate(20);
    let renamed = with_domain(&base, "fabrikam.example");
    let tenant = Tenant::register(&stack, TokenVersion::V2).await;
    let mut job = tenant.provisioner(&stack.scim_url, Dialect::Default, RemovalAction::Delete);
    let reader = tenant.token().await;
    assert_initial(&job.run_cycle(&base).await.expect("initial"), &base, "initial");
    // The job finds users by the id it recorded, so a userName change is an update, not a create + delete.
    let report = job.run_cycle(&renamed).await.expect("rename cycle");
    assert_clean(&report, "rename cycle");
    assert_eq!(report.users.updated, renamed.users.len() as u64, "{}", report.summary());
    assert_eq!(report.users.created + report.users.deleted, 0, "{}", report.summary());
    assert_state(&renamed, &ServerDirectory::read(&tenant, &reader).await, &[], None);
    let total = tenant
        .total(
            &reader,
            &format!(
                "/Users?{}",
                filter(&format!("userName eq \"{}\"", base.users[0].user_name))
            ),
        )
        .await;
    assert_eq!(total, 0, "the old userName still resolves");
    assert_read_only(&job.run_cycle(&renamed).await.expect("re-run"), &renamed, "re-run");
}
