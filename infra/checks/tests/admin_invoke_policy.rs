//! Issue 14.6: whoever holds `AdminApiInvokePolicy` can call the admin API only through its IAM-authenticated
//! function URL. A plain `lambda:InvokeFunction` grant would let them invoke the function directly with an event of
//! their own making, naming any IAM principal as the audited actor, without a SigV4 signature.

use infra_checks::TEMPLATE_YAML;
use infra_checks::template::Template;
use serde_json::{Value, json};

/// Every statement of the policy, and why it is refused when it is.
fn refusals(template: &str) -> Vec<String> {
    let template = Template::parse(template).unwrap();
    let policy = template.resource("AdminApiInvokePolicy").expect("AdminApiInvokePolicy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    assert!(!statements.is_empty());
    statements.iter().filter_map(refusal).collect()
}

fn refusal(statement: &Value) -> Option<String> {
    let url_only = match statement["Action"].as_str() {
        Some("lambda:InvokeFunctionUrl") => json!({"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}),
        Some("lambda:InvokeFunction") => json!({"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}),
        _ => return Some(format!("grants something else: {statement}")),
    };
    if statement["Effect"] != "Allow" || statement["Condition"] != url_only {
        return Some(format!(
            "is not limited to the IAM-authenticated function URL: {statement}"
        ));
    }
    (statement["Resource"] != json!({"Ref": "AdminFunctionAliaslive"}))
        .then(|| format!("is not limited to the admin alias: {statement}"))
}

#[test]
fn the_admin_invoke_policy_allows_only_calls_through_the_function_url() {
    assert_eq!(refusals(TEMPLATE_YAML), Vec::<String>::new());
}

#[test]
fn a_direct_invoke_grant_is_caught() {
    let unconditional = TEMPLATE_YAML.replace(
        "            Condition:\n              Bool:\n                lambda:InvokedViaFunctionUrl: \"true\"\n",
        "",
    );
    assert_ne!(unconditional, TEMPLATE_YAML);
    assert_eq!(refusals(&unconditional).len(), 1);
}
