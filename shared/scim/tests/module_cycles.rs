//! No module cycles inside wif-scim: reads every source file of the crate, collects the module paths its code names
//! (`crate::…`, `super::…`, grouped `use` trees included; comments and string literals do not count), and fails when
//! the modules that share a parent depend on each other in a cycle (at the top level: `filter` ↔ `schema`, or an RFC
//! engine ↔ `entra_compat`).
//!
//! An edge `a → b` is recorded between the two siblings under the deepest common parent of the module that names a
//! path and the module the path leads to; a module naming its own ancestors or descendants adds no edge (a parent
//! re-exporting its children is not a cycle). Glob imports count as naming the module they import from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// Every module of the crate that has a file of its own, by path (`[]` is the crate root).
fn module_files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, prefix: &ModPath, out: &mut BTreeMap<ModPath, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read src").flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            if path.is_dir() {
                let mut child = prefix.clone();
                child.push(name);
                walk(&path, &child, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.clone();
                if !matches!(name.as_str(), "mod" | "lib") {
                    module.push(name);
                }
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Rust source without comments, string/char literals and lifetimes, as identifiers, `::` and punctuation.
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && raw_string_end(&chars, i).is_some() {
            i = raw_string_end(&chars, i).unwrap_or(chars.len());
        } else if c == 'b' && next == Some('"') {
            i = string_end(&chars, i + 1);
        } else if c == '"' {
            i = string_end(&chars, i);
        } else if c == '\'' {
            i = char_or_lifetime_end(&chars, i);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && next == Some(':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// The index after a raw string starting at `start` (`r"…"`, `r#"…"#`), if it is one.
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(chars.len())
}

/// The index after the string literal whose opening quote is at `start`.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index after a char literal (`'x'`, `'\''`, `'\u{..}'`) or a lifetime (`'a`) starting at `start`.
fn char_or_lifetime_end(chars: &[char], start: usize) -> usize {
    if chars.get(start + 1) == Some(&'\\') {
        let mut i = start + 2;
        while i < chars.len() && chars[i] != '\'' {
            i += 1;
        }
        return i + 1;
    }
    if chars.get(start + 2) == Some(&'\'') {
        return start + 3;
    }
    let mut i = start + 1;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    i
}

/// Parses a path or `use` tree after `crate::` / `super::`, calling `leaf` with each full path it names.
fn use_tree(tokens: &[Token], mut i: usize, prefix: &mut ModPath, leaf: &mut dyn FnMut(&ModPath)) -> usize {
    match tokens.get(i) {
        Some(Token::Punct('{')) => {
            i += 1;
            loop {
                match tokens.get(i) {
                    None => return i,
                    Some(Token::Punct('}')) => return i + 1,
                    Some(Token::Punct(',')) => i += 1,
                    _ => {
                        let depth = prefix.len();
                        let after = use_tree(tokens, i, prefix, leaf);
                        prefix.truncate(depth);
                        i = if after == i { i + 1 } else { after };
                    }
                }
            }
        }
        Some(Token::Ident(name)) if name != "self" => {
            prefix.push(name.clone());
            i += 1;
            if tokens.get(i) == Some(&Token::PathSep) {
                use_tree(tokens, i + 1, prefix, leaf)
            } else {
                leaf(prefix);
                i
            }
        }
        _ => {
            leaf(prefix);
            i
        }
    }
}

/// The module a named path leads to: its longest prefix that is a module.
fn module_of(path: &ModPath, modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

/// Every (naming module, named module) pair in one file; inline `mod x { … }` blocks count as their own modules.
fn references(file_module: &ModPath, source: &str, modules: &BTreeSet<ModPath>) -> Vec<(ModPath, ModPath)> {
    let tokens = tokens(source);
    let mut out = Vec::new();
    // The current module, with the brace depth at which each inline module was opened.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let mut current = file_module.clone();
        current.extend(inline.iter().map(|(name, _)| name.clone()));
        match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
            (Token::Ident(kw), Some(Token::Ident(name)), Some(Token::Punct('{'))) if kw == "mod" => {
                inline.push((name.clone(), depth));
                depth += 1;
                i += 3;
                continue;
            }
            (Token::Punct('{'), ..) => depth += 1,
            (Token::Punct('}'), ..) => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            (Token::Ident(start), Some(Token::PathSep), _) if start == "crate" || start == "super" => {
                let mut base = if start == "crate" { Vec::new() } else { current.clone() };
                let mut j = i;
                if start == "super" {
                    while tokens.get(j).is_some_and(|t| *t == Token::Ident("super".into()))
                        && tokens.get(j + 1) == Some(&Token::PathSep)
                    {
                        base.pop();
                        j += 2;
                    }
                } else {
                    j += 2;
                }
                let mut named = Vec::new();
                let end = use_tree(&tokens, j, &mut base, &mut |path| named.push(path.clone()));
                for path in named {
                    out.push((current.clone(), module_of(&path, modules)));
                }
                i = end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Edges between sibling modules, grouped by their parent.
fn sibling_edges(src: &Path) -> BTreeMap<ModPath, BTreeSet<(String, String)>> {
    let files = module_files(src);
    let modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    let mut graphs: BTreeMap<ModPath, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, file) in &files {
        let source = std::fs::read_to_string(file).expect("read source");
        for (from, to) in references(module, &source, &modules) {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                graphs
                    .entry(from[..common].to_vec())
                    .or_default()
                    .insert((from[common].clone(), to[common].clone()));
            }
        }
    }
    graphs
}

/// The strongly connected groups of more than one module (Tarjan's algorithm).
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeSet<(String, String)>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(node: &'a str, state: &mut State<'a>) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        let edges = state.edges;
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if !state.index.contains_key(to.as_str()) {
                visit(to, state);
                let low = state.low[to.as_str()].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.stack.contains(&to.as_str()) {
                let low = state.index[to.as_str()].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut group = Vec::new();
            while let Some(top) = state.stack.pop() {
                group.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                state.found.push(group);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    let nodes: BTreeSet<&str> = edges.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]).collect();
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(node, &mut state);
        }
    }
    state.found
}

#[test]
fn the_crate_has_no_module_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graphs = sibling_edges(&src);
    assert!(
        graphs.get(&Vec::new()).is_some_and(|top| top.len() > 10),
        "the reader found the top-level dependencies: {graphs:?}"
    );
    let found: Vec<String> = graphs
        .iter()
        .flat_map(|(parent, edges)| {
            let parent = if parent.is_empty() {
                "crate".to_owned()
            } else {
                parent.join("::")
            };
            cycles(edges)
                .into_iter()
                .map(move |group| format!("under {parent}: {}", group.join(" ↔ ")))
        })
        .collect();
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn the_reader_sees_grouped_uses_paths_and_inline_modules_but_not_comments_or_strings() {
    let modules: BTreeSet<ModPath> = [
        vec![],
        vec!["a".into()],
        vec!["b".into()],
        vec!["c".into()],
        vec!["d".into()],
    ]
    .into_iter()
    .collect();
    let source = r##"
        // crate::d in a comment
        use crate::{b::Thing, c};
        fn f() -> char { let _ = "crate::d"; let _ = r#"crate::d"#; '"' }
        fn g<'a>(x: &'a str) { super::b::run(x); }
        mod tests { use super::*; fn t() { super::super::d::go(); } }
    "##;
    let found: BTreeSet<(ModPath, ModPath)> = references(&vec!["a".into()], source, &modules).into_iter().collect();
    let a = || vec!["a".to_owned()];
    let expected: BTreeSet<(ModPath, ModPath)> = [
        (a(), vec!["b".into()]),
        (a(), vec!["c".into()]),
        (vec!["a".into(), "tests".into()], a()),
        (vec!["a".into(), "tests".into()], vec!["d".into()]),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected);
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .map(|(x, y)| (x.to_owned(), y.to_owned()))
        .collect();
    assert_eq!(cycles(&edges), vec![vec!["a".to_owned(), "b".into(), "c".into()]]);
}
