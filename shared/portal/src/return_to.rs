//! `returnTo`: where to go after signing in. Only a path inside the portal is accepted; anything that could leave
//! it (`//evil.example`, `/\evil.example`, `https://...`, encoded tricks, control characters) becomes `/`.

const MAX_LEN: usize = 512;

/// A safe local path (relative to the portal's base path), or `/`.
pub fn sanitize(requested: Option<&str>) -> String {
    let Some(path) = requested else { return "/".into() };
    let safe = path.len() <= MAX_LEN
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.contains("/..")
        && path.chars().all(|c| c.is_ascii_graphic())
        && !path.to_ascii_lowercase().contains("%2f%2f")
        && !path.to_ascii_lowercase().contains("%5c")
        && url::Url::parse("https://portal.invalid")
            .and_then(|base| base.join(path))
            .is_ok_and(|joined| joined.host_str() == Some("portal.invalid") && joined.path().starts_with('/'));
    if safe { path.to_owned() } else { "/".into() }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn only_local_paths_survive() {
        for good in [
            "/",
            "/registrations",
            "/registrations/abc?tab=secrets",
            "/invite?code=x",
        ] {
            assert_eq!(sanitize(Some(good)), good);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/ok\r\nSet-Cookie: x=1",
            "/../../etc",
            " /registrations",
            "",
        ] {
            assert_eq!(sanitize(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(sanitize(None), "/");
        assert_eq!(sanitize(Some(&format!("/{}", "a".repeat(600)))), "/");
    }
}
