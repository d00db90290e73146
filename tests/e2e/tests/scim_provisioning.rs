//! Replays an Entra provisioning sequence against the running local stack (cargo lambda watch + moto), in the
//! request shapes Entra sends: Test Connection, lookups, create users with the enterprise extension, update,
//! disable, re-enable, manager set/change/remove, create groups, add/remove members in both shapes, rename, delete.

use e2e_tests::scim::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, filter, patch, stack, unique};
use serde_json::{Value, json};

fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Alex Wilber",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alex Wilber", "familyName": "Wilber", "givenName": "Alex"},
        "roles": [],
        "title": null,
        ENTERPRISE: {"employeeNumber": "1001", "department": "Retail", "costCenter": "CC-7"},
    })
}

#[tokio::test]
async fn entra_provisioning_cycle() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;

    // Test Connection: a random userName → 200 with an empty ListResponse.
    let probe = format!(
        "/Users?filter={}",
        filter(&format!("userName eq \"{}\"", unique("probe")))
    );
    let reply = stack
        .scim_with(&token, "GET", &probe, None, &[("Accept", "application/json")])
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("application/scim+json"));
    assert_eq!(reply.body["totalResults"], 0);
    assert_eq!(reply.body["Resources"], json!([]));

    // Lookup by userName before create: nothing.
    let alex = format!("{}@contoso.example", unique("alex"));
    let anchor = unique("anchor");
    let by_name = format!("/Users?filter={}", filter(&format!("userName eq \"{alex}\"")));
    assert_eq!(stack.scim(&token, "GET", &by_name, None).await.body["totalResults"], 0);

    // Create with the enterprise extension.
    let reply = stack
        .scim(&token, "POST", "/Users", Some(&entra_user(&alex, &anchor)))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let user_id = reply.body["id"].as_str().expect("id").to_owned();
    assert!(
        reply
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with(&format!("/Users/{user_id}")))
    );
    assert_eq!(reply.etag.as_deref(), Some("W/\"1\""));
    assert_eq!(reply.body[ENTERPRISE]["department"], "Retail");
    // A second create of the same userName (any case) → 409 uniqueness.
    let dup = stack
        .scim(
            &token,
            "POST",
            "/Users",
            Some(&entra_user(&alex.to_uppercase(), &anchor)),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["scimType"], "uniqueness");

    // Lookups Entra uses.
    for f in [
        format!("userName eq \"{alex}\""),
        format!("externalId eq \"{anchor}\""),
        format!("emails[type eq \"work\"].value eq \"{}\"", alex.to_uppercase()),
    ] {
        let reply = stack
            .scim(&token, "GET", &format!("/Users?filter={}", filter(&f)), None)
            .await;
        assert_eq!(reply.body["totalResults"], 1, "{f}: {:?}", reply.body);
        assert_eq!(reply.body["Resources"][0]["id"], user_id);
    }

    // Update: path-less replace with dotted and URN keys, Entra style.
    let update = patch(json!([{"op": "Replace", "value": {
        "name.givenName": "Alexander",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Marketing",
        "title": "Manager"
    }}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&update))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["name"]["givenName"], "Alexander");
    assert_eq!(reply.body[ENTERPRISE]["department"], "Marketing");
    assert_eq!(reply.body["title"], "Manager");
    // A filtered path on an absent multi-valued attribute creates the element.
    let phone = patch(json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&phone))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["phoneNumbers"][0]["value"], "+1 555 0100");

    // Disable, then re-enable (string booleans); an inactive user is still found.
    let disable = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&disable))
        .await;
    assert_eq!(reply.body["active"], false);
    assert_eq!(stack.scim(&token, "GET", &by_name, None).await.body["totalResults"], 1);
    let enable = patch(json!([{"op": "replace", "path": "active", "value": "True"}]));
    assert_eq!(
        stack
            .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&enable))
            .await
            .body["active"],
        true
    );

    // Manager: set (raw string), change ({value}), check, remove (empty value).
    let mut managers = Vec::new();
    for label in ["boss1", "boss2"] {
        let name = format!("{}@contoso.example", unique(label));
        let reply = stack
            .scim(&token, "POST", "/Users", Some(&entra_user(&name, &unique(label))))
            .await;
        assert_eq!(reply.status, 201);
        managers.push(reply.body["id"].as_str().expect("id").to_owned());
    }
    let manager_path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
    let set = patch(json!([{"op": "Add", "path": manager_path, "value": managers[0]}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&set))
        .await;
    assert_eq!(reply.body[ENTERPRISE]["manager"]["value"], managers[0]);
    let change = patch(json!([{"op": "Replace", "path": manager_path, "value": {"value": managers[1]}}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&change))
        .await;
    assert_eq!(reply.body[ENTERPRISE]["manager"]["value"], managers[1]);
    let check = format!(
        "/Users?filter={}",
        filter(&format!("id eq \"{user_id}\" and manager eq \"{}\"", managers[1]))
    );
    assert_eq!(stack.scim(&token, "GET", &check, None).await.body["totalResults"], 1);
    let remove = patch(json!([{"op": "Replace", "path": manager_path, "value": ""}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Users/{user_id}"), Some(&remove))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(reply.body[ENTERPRISE].get("manager").is_none(), "{:?}", reply.body);
    assert_eq!(stack.scim(&token, "GET", &check, None).await.body["totalResults"], 0);

    // Groups: lookup by displayName, create with Entra's extra schema URN, members in both removal shapes.
    let group_name = unique("Sales");
    let by_display = format!(
        "/Groups?filter={}&excludedAttributes=members",
        filter(&format!("displayName eq \"{group_name}\""))
    );
    assert_eq!(
        stack.scim(&token, "GET", &by_display, None).await.body["totalResults"],
        0
    );
    let create_group = json!({
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": group_name,
        "externalId": unique("g"),
        "meta": {"resourceType": "Group"},
    });
    let reply = stack.scim(&token, "POST", "/Groups", Some(&create_group)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let group_id = reply.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        stack.scim(&token, "GET", &by_display, None).await.body["totalResults"],
        1
    );

    let add = patch(json!([{"op": "Add", "path": "members", "value": [
        {"value": user_id}, {"value": managers[0]}, {"value": managers[1]}
    ]}]));
    let reply = stack
        .scim(&token, "PATCH", &format!("/Groups/{group_id}"), Some(&add))
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(
        stack
            .scim(&token, "PATCH", &format!("/Groups/{group_id}"), Some(&add))
            .await
            .status,
        204,
        "re-adding is idempotent"
    );
    let member_check = |member: &str| {
        format!(
            "/Groups?filter={}&excludedAttributes=members",
            filter(&format!("id eq \"{group_id}\" and members eq \"{member}\""))
        )
    };
    let reply = stack.scim(&token, "GET", &member_check(&user_id), None).await;
    assert_eq!(reply.body["totalResults"], 1);
    assert!(
        reply.body["Resources"][0].get("members").is_none(),
        "excludedAttributes=members is honoured"
    );

    let remove_by_value = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": managers[0]}]}]));
    assert_eq!(
        stack
            .scim(&token, "PATCH", &format!("/Groups/{group_id}"), Some(&remove_by_value))
            .await
            .status,
        204
    );
    let remove_by_filter = patch(json!([{"op": "Remove", "path": format!("members[value eq \"{}\"]", managers[1])}]));
    assert_eq!(
        stack
            .scim(&token, "PATCH", &format!("/Groups/{group_id}"), Some(&remove_by_filter))
            .await
            .status,
        204
    );
    assert_eq!(
        stack.scim(&token, "GET", &member_check(&managers[0]), None).await.body["totalResults"],
        0
    );
    assert_eq!(
        stack.scim(&token, "GET", &member_check(&managers[1]), None).await.body["totalResults"],
        0
    );
    let group = stack.scim(&token, "GET", &format!("/Groups/{group_id}"), None).await;
    assert_eq!(
        group.body["members"].as_array().map(Vec::len),
        Some(1),
        "only the listed members were removed"
    );
    assert_eq!(group.body["members"][0]["value"], user_id);

    // Rename.
    let renamed = format!("{group_name} EMEA");
    let rename = patch(json!([{"op": "Replace", "path": "displayName", "value": renamed}]));
    assert_eq!(
        stack
            .scim(&token, "PATCH", &format!("/Groups/{group_id}"), Some(&rename))
            .await
            .status,
        204
    );
    let reply = stack
        .scim(
            &token,
            "GET",
            &format!("/Groups/{group_id}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(reply.body["displayName"], renamed);

    // The user sees its group; deleting the user removes the membership; then delete the group.
    let user = stack.scim(&token, "GET", &format!("/Users/{user_id}"), None).await;
    assert_eq!(user.body["groups"][0]["value"], group_id);
    assert_eq!(
        stack
            .scim(&token, "DELETE", &format!("/Users/{user_id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        stack
            .scim(&token, "GET", &format!("/Users/{user_id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        stack.scim(&token, "GET", &member_check(&user_id), None).await.body["totalResults"],
        0
    );
    assert_eq!(
        stack
            .scim(&token, "DELETE", &format!("/Groups/{group_id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        stack
            .scim(&token, "GET", &format!("/Groups/{group_id}"), None)
            .await
            .status,
        404
    );
    for manager in &managers {
        assert_eq!(
            stack
                .scim(&token, "DELETE", &format!("/Users/{manager}"), None)
                .await
                .status,
            204
        );
    }
}

#[tokio::test]
async fn errors_are_scim_errors() {
    let Some(stack) = stack().await else { return };
    let token = stack.token().await;
    let reply = stack.scim("wif_at_not-a-real-token", "GET", "/Users", None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    let reply = stack.scim(&token, "GET", "/Users?filter=userName+eq", None).await;
    assert_eq!(
        (reply.status, reply.body["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
    let reply = stack.scim(&token, "GET", "/Users/does-not-exist", None).await;
    assert_eq!(reply.status, 404);
    let reply = stack.scim(&token, "DELETE", "/ServiceProviderConfig", None).await;
    assert_eq!(reply.status, 405);
    let reply = stack.scim(&token, "GET", "/ServiceProviderConfig", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["patch"]["supported"], true);
    assert_eq!(reply.body["pagination"]["cursor"], true);
}
