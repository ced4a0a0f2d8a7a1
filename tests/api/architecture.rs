//! The layering of `src/`, checked from the source text: no import loop between files or between
//! folders, and the inner folders (`domain`, `stats`, `config`, `db`, plus `clock`) import nothing
//! from the outer ones. A reference is any `crate::…` or `super::…` path, in a `use` or inline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path ("ingestion::service") → the modules its file refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → "a::b"; `src/a/mod.rs` → "a"; `src/lib.rs` → "" (the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src/").with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

/// The text without comments and string literals, so prose and messages are not read as paths.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            // A character literal ('"', '\'') rather than a lifetime.
            '\'' if chars.peek() == Some(&'\\') => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
            }
            '\'' if chars.clone().nth(1) == Some('\'') => {
                chars.next();
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every path a file names, `use` trees expanded: `use crate::{a::b, c}` gives `crate::a::b`, `crate::c`.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for statement in code.split(';') {
        let trimmed = statement.trim_start();
        let body = trimmed
            .strip_prefix("pub use ")
            .or_else(|| trimmed.strip_prefix("pub(crate) use "))
            .or_else(|| trimmed.strip_prefix("use "))
            .or_else(|| trimmed.find("\nuse ").map(|at| &trimmed[at + 5..]))
            .or_else(|| trimmed.find("\npub use ").map(|at| &trimmed[at + 9..]));
        if let Some(tree) = body {
            expand("", tree.trim(), &mut paths);
        }
    }
    // Inline paths (`crate::db::repo::audit::record(...)`, `super::fields::FieldError`).
    let bytes = code.as_bytes();
    for anchor in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(anchor) {
            let start = from + found;
            let before = start.checked_sub(1).map(|i| bytes[i] as char);
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            if !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == '_') {
                paths.push(code[start..end].trim_end_matches(':').to_owned());
            }
            from = end.max(start + anchor.len());
        }
    }
    paths
}

fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            let leaf = tree.split(" as ").next().unwrap_or(tree).trim();
            if !leaf.is_empty() {
                out.push(format!("{prefix}{leaf}"));
            }
        }
        Some(open) => {
            let head = &tree[..open];
            let close = tree.rfind('}').unwrap_or(tree.len());
            let inner = &tree[open + 1..close];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
}

/// The module a path points into: the longest known module it starts with. `super` is the
/// parent of the module (for `a/mod.rs`, module `a`, that is the crate root).
fn resolve(path: &str, from: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut parts = path.split("::").peekable();
    let mut segments: Vec<String> = match parts.peek().copied() {
        Some("crate") => {
            parts.next();
            Vec::new()
        }
        Some("super") => {
            let mut base: Vec<String> = from.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            while parts.peek() == Some(&"super") {
                parts.next();
                base.pop();
            }
            base
        }
        _ => return None,
    };
    segments.extend(parts.map(str::to_owned));
    while !segments.is_empty() {
        let candidate = segments.join("::");
        if modules.contains(&candidate) {
            return Some(candidate);
        }
        segments.pop();
    }
    None
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = Graph::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("source is readable");
        // Unit tests may reach anywhere; the layering is about the code that ships.
        let shipped = text.split("#[cfg(test)]").next().unwrap_or(&text);
        let targets = graph.entry(module.clone()).or_default();
        for path in paths_in(&code_only(shipped)) {
            if let Some(target) = resolve(&path, &module, &modules)
                && target != module
                && !target.is_empty()
                // A folder's mod.rs declaring its children is not a dependency on them.
                && !target.starts_with(&format!("{module}::"))
            {
                targets.insert(target);
            }
        }
    }
    graph
}

/// Strongly connected components with more than one member (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

/// The top-level folder or file of a module: "ingestion::service" → "ingestion".
fn top(module: &str) -> String {
    module.split("::").next().unwrap_or(module).to_owned()
}

#[test]
fn no_import_loop_between_files() {
    let loops = cycles(&graph());
    assert!(loops.is_empty(), "files importing each other, directly or around a loop: {loops:#?}");
}

#[test]
fn no_import_loop_between_folders() {
    let mut folders = Graph::new();
    for (from, targets) in graph() {
        let entry = folders.entry(top(&from)).or_default();
        for target in targets {
            if top(&target) != top(&from) {
                entry.insert(top(&target));
            }
        }
    }
    let loops = cycles(&folders);
    assert!(loops.is_empty(), "folders importing each other: {loops:#?}");
}

#[test]
fn inner_layers_import_nothing_from_outer_ones() {
    let inner = ["domain", "stats", "config", "db", "clock"];
    let outer =
        ["ingestion", "sampling", "reporting", "responses", "web", "cli", "jobs", "accounts", "app", "scheduler"];
    let mut wrong = Vec::new();
    for (from, targets) in graph() {
        if !inner.contains(&top(&from).as_str()) {
            continue;
        }
        for target in targets.iter().filter(|t| outer.contains(&top(t).as_str())) {
            wrong.push(format!("{from} -> {target}"));
        }
    }
    assert!(wrong.is_empty(), "inner layers reaching outwards: {wrong:#?}");
}

#[test]
fn the_checker_sees_imports_and_loops() {
    let mut paths = Vec::new();
    expand("", "crate::{db::{self, repo}, domain::Email as E}", &mut paths);
    assert_eq!(paths, ["crate::db::self", "crate::db::repo", "crate::domain::Email"]);
    let code = code_only("// crate::web in a comment\nlet s = \"crate::cli\"; crate::stats::estimate(x);");
    assert_eq!(paths_in(&code), ["crate::stats::estimate"]);
    let modules: BTreeSet<String> = ["a", "a::b", "c"].map(String::from).into();
    assert_eq!(resolve("super::c::X", "a::b", &modules).as_deref(), Some("a"));
    assert_eq!(resolve("super::b::X", "a", &modules).as_deref(), None);
    assert_eq!(resolve("crate::a::b::f", "c", &modules).as_deref(), Some("a::b"));
    let mut looped = Graph::new();
    looped.entry("x".into()).or_default().insert("y".into());
    looped.entry("y".into()).or_default().insert("x".into());
    looped.entry("z".into()).or_default().insert("x".into());
    assert_eq!(cycles(&looped), vec![vec!["x".to_owned(), "y".to_owned()]]);
}
