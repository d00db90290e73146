//! Every function, given the environment the template really sets for it, starts: its own configuration loader
//! accepts the values, and the names it reads are exactly the ones its permissions.rs declares. Run for several
//! parameter sets, including the optional custom domain and customer-managed key.

mod common;

use std::collections::BTreeSet;

use common::{FUNCTIONS, RecordingEnv};
use infra_checks::TEMPLATE_YAML;
use infra_checks::template::{Evaluator, Template};

const CUSTOM_DOMAIN: &[(&str, &str)] = &[
    ("CustomDomainName", "scim.example.com"),
    (
        "CustomDomainCertificateArn",
        "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    ),
];

/// Parameter sets a deployment may use: the defaults, a custom domain, tuned limits, a customer-managed key.
const PARAMETER_SETS: &[&[(&str, &str)]] = &[
    &[],
    CUSTOM_DOMAIN,
    &[
        ("AllowedJwksHosts", "keys.example.com,login.partner.example"),
        ("TokenLifetimeMinSeconds", "900"),
        ("TokenLifetimeMaxSeconds", "7200"),
        ("RateLimitClientPerMinute", "0"),
        ("RateLimitSourcePerMinute", "1000"),
        ("AuditRetentionDays", "30"),
        ("TableEncryption", "CUSTOMER_MANAGED"),
    ],
];

/// Runs a function's configuration loader; Err holds its message.
fn load(logical_id: &str, env: &RecordingEnv) -> Result<(), String> {
    match logical_id {
        "TokenFunction" => token::config::TokenConfig::from_env(env).map(drop),
        "ScimFunction" => scim::config::ScimConfig::from_env(env).map(drop),
        "JwksRefreshFunction" => jwks_refresh::config::RefreshConfig::from_env(env).map(drop),
        "AdminFunction" => admin::config::AdminConfig::from_env(env).map(drop),
        "PortalFunction" => portal::config::PortalConfig::from_env(env).map(drop),
        other => panic!("no loader for {other}"),
    }
    .map_err(|err| err.to_string())
}

#[test]
fn every_function_starts_with_the_environment_the_template_gives_it() {
    let template = Template::parse(TEMPLATE_YAML).unwrap();
    for parameters in PARAMETER_SETS {
        let evaluator = Evaluator::new(&template, parameters);
        for spec in FUNCTIONS {
            let values = evaluator
                .function_environment(spec.logical_id)
                .unwrap_or_else(|err| panic!("{}: {err}", spec.logical_id));
            let env = RecordingEnv::new(values);
            if let Err(err) = load(spec.logical_id, &env) {
                panic!(
                    "{} rejects its template environment with {parameters:?}: {err}",
                    spec.logical_id
                );
            }
            let declared: BTreeSet<String> = spec.env_vars.iter().map(|v| (*v).to_owned()).collect();
            assert_eq!(
                env.read(),
                declared,
                "{}: the variables its config reads (left) must be exactly ENV_VARS in functions/{}/src/permissions.rs",
                spec.logical_id,
                spec.name
            );
        }
    }
}

/// Local-development mode (plain http, an admin API without IAM) cannot be switched on in a deployed function:
/// with the template's environment plus `WIF_LOCAL_DEVELOPMENT=true`, every function starts on a developer's machine
/// and refuses to start once the variable the Lambda service sets is present.
#[test]
fn no_function_starts_in_local_development_inside_aws_lambda() {
    let template = Template::parse(TEMPLATE_YAML).unwrap();
    let evaluator = Evaluator::new(&template, &[]);
    for spec in FUNCTIONS {
        let mut values = evaluator
            .function_environment(spec.logical_id)
            .unwrap_or_else(|err| panic!("{}: {err}", spec.logical_id));
        values.insert("WIF_LOCAL_DEVELOPMENT".into(), "true".into());
        let local = load(spec.logical_id, &RecordingEnv::new(values.clone()));
        assert_eq!(local, Ok(()), "{} in local development", spec.logical_id);
        values.insert("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into());
        let err = load(spec.logical_id, &RecordingEnv::new(values)).expect_err(spec.logical_id);
        assert!(err.contains("WIF_LOCAL_DEVELOPMENT"), "{}: {err}", spec.logical_id);
    }
}

#[test]
fn public_urls_are_the_function_urls_or_the_custom_domain() {
    let template = Template::parse(TEMPLATE_YAML).unwrap();
    let admin_urls = |parameters: &[(&str, &str)]| {
        let values = Evaluator::new(&template, parameters)
            .function_environment("AdminFunction")
            .unwrap();
        let config = admin::config::AdminConfig::from_env(&RecordingEnv::new(values)).unwrap();
        (config.urls.token_url, config.urls.scim_url)
    };
    assert_eq!(
        admin_urls(&[]),
        (
            "https://tokenfunctionurl.lambda-url.us-east-1.on.aws/oauth2/token".to_owned(),
            "https://scimfunctionurl.lambda-url.us-east-1.on.aws/scim/v2".to_owned()
        )
    );
    assert_eq!(
        admin_urls(CUSTOM_DOMAIN),
        (
            "https://scim.example.com/oauth2/token".to_owned(),
            "https://scim.example.com/scim/v2".to_owned()
        )
    );

    let token_url = |parameters: &[(&str, &str)]| {
        let values = Evaluator::new(&template, parameters)
            .function_environment("TokenFunction")
            .unwrap();
        token::config::TokenConfig::from_env(&RecordingEnv::new(values))
            .unwrap()
            .public_token_url
    };
    // Without a custom domain the token function derives its issuer from the request: it cannot name its own URL.
    assert_eq!(token_url(&[]), None);
    assert_eq!(
        token_url(CUSTOM_DOMAIN).as_deref(),
        Some("https://scim.example.com/oauth2/token")
    );
}

#[test]
fn nothing_points_a_deployed_function_at_a_local_endpoint() {
    let template = Template::parse(TEMPLATE_YAML).unwrap();
    for spec in FUNCTIONS {
        let env = template.function_environment(spec.logical_id);
        assert!(!env.contains_key("AWS_ENDPOINT_URL_DYNAMODB"), "{}", spec.logical_id);
        assert_eq!(
            env.get("WIF_LOCAL_DEVELOPMENT")
                .and_then(|v| v.as_str())
                .unwrap_or("false"),
            "false",
            "{} must not run in local-development mode in AWS",
            spec.logical_id
        );
    }
}

/// Each function's permissions.rs names exactly the tables its configuration reads, in order, and their environment
/// variables.
#[test]
fn declarations_name_exactly_the_configured_tables() {
    for (logical_id, configured) in [
        ("TokenFunction", token::config::TABLES),
        ("ScimFunction", &scim::config::TABLES[..]),
        ("JwksRefreshFunction", jwks_refresh::config::TABLES),
        ("AdminFunction", admin::config::TABLES),
    ] {
        let spec = common::spec(logical_id);
        let mismatch = wif_store::tables::declaration_mismatch(spec.dynamodb, configured, spec.env_vars);
        assert_eq!(mismatch, None, "functions/{}/src/permissions.rs", spec.name);
    }
}
