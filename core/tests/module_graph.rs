//! The core's module graph has no cycles (ARCHITECTURE.md): reading the
//! `use` paths and inline `crate::`/`super::` paths of every source file
//! under `core/src`, file A depends on file B when A names an item of B.
//! Test code (`*tests.rs`, inline `#[cfg(test)]` modules) is left out, and
//! so are a folder module's edges into its own children (a `mod.rs` that
//! re-exports its children's API is the folder's front door, as `mod`
//! declarations are): a child naming its parent's items is the one
//! direction that counts.
//!
//! Written here rather than run through `cargo modules dependencies
//! --acyclic`: that tool builds rust-analyzer (many minutes on CI's two
//! cores) and checks modules, while this checks files, which is what a
//! reader opens, in a second.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (e.g. `["store", "chain"]`) → file, for every module file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let file = parts.pop().unwrap();
            let stem = file.trim_end_matches(".rs");
            if stem.ends_with("tests") {
                continue;
            }
            if stem != "mod" && stem != "lib" {
                parts.push(stem.to_string());
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source without comments, string literals and trailing test modules.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        // Paths inside string literals (SQL, messages) are not imports.
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every path a `use` item names, braces expanded (`a::{b, c::d}` →
/// `a::b`, `a::c::d`).
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let base = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&base, &inner[start..], out);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap().trim();
        out.push(join(prefix, tree));
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}::{b}"),
    }
}

/// The paths a file names: `use` items and inline `crate::…`/`super::…`.
fn paths_named(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        expand("", &rest[..end], &mut out);
        rest = &rest[end..];
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            out.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    out
}

/// Resolves a path named in module `here` to the module file it lands in.
fn resolve(
    here: &[String],
    is_mod_file: bool,
    path: &str,
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut base: Vec<String> = match segments.peek().copied() {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        Some("super") => {
            // `super` of a file module is its folder's module; of a
            // `mod.rs`, the folder's parent.
            let mut base = here.to_vec();
            if is_mod_file {
                base.pop();
            }
            while segments.peek() == Some(&"super") {
                segments.next();
                base.pop();
            }
            base
        }
        Some("self") => {
            segments.next();
            here.to_vec()
        }
        // A child module of this one (`use connection::Store` in a
        // `mod.rs`), else an external crate or a local name.
        Some(first) if mods.contains_key(&[here, &[first.to_string()]].concat()) => here.to_vec(),
        _ => return None,
    };
    let mut found = if mods.contains_key(&base) {
        Some(base.clone())
    } else {
        None
    };
    for s in segments {
        base.push(s.to_string());
        if mods.contains_key(&base) {
            found = Some(base.clone());
        } else {
            break;
        }
    }
    found
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges = BTreeMap::new();
    for (module, file) in &mods {
        let is_mod_file = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut to = BTreeSet::new();
        for path in paths_named(&code) {
            if let Some(target) = resolve(module, is_mod_file, &path, &mods)
                && &target != module
                && !target.starts_with(module)
                // The crate root only re-exports; naming `crate::X` for an
                // item the root re-exports is resolved above to X's file
                // when X is a module path, else to the root, which imports
                // nothing but re-exports: leave those edges out.
                && !target.is_empty()
            {
                to.insert(target);
            }
        }
        edges.insert(module.clone(), to);
    }
    edges
}

/// The first cycle found, as module paths, if any.
fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|m| m.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(next, edges, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(c) = visit(node, edges, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_core_module_graph_has_no_cycles() {
    let edges = graph();
    // The reading works: known dependencies are seen.
    let deps = |m: &str| -> BTreeSet<String> {
        let key: Vec<String> = m.split("::").map(str::to_string).collect();
        edges[&key].iter().map(|t| t.join("::")).collect()
    };
    assert!(
        deps("store::attendance").contains("store::chain"),
        "{:?}",
        deps("store::attendance")
    );
    assert!(deps("store::verify").contains("store::audit"));
    assert!(deps("evaluation").contains("geofence"));
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn domain_modules_import_no_store_code() {
    for (module, to) in graph() {
        if module.first().is_some_and(|m| m == "store") {
            continue;
        }
        for target in to {
            assert!(
                target.first().is_none_or(|t| t != "store") || module.is_empty(),
                "{} imports {}",
                module.join("::"),
                target.join("::")
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let m = |s: &str| -> Vec<String> { s.split("::").map(str::to_string).collect() };
    let mut edges = BTreeMap::new();
    edges.insert(m("a"), BTreeSet::from([m("b")]));
    edges.insert(m("b"), BTreeSet::from([m("c")]));
    edges.insert(m("c"), BTreeSet::from([m("a")]));
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    edges.insert(m("c"), BTreeSet::new());
    assert_eq!(find_cycle(&edges), None);
    // Braces and `super` resolve as the compiler does.
    let mut paths = Vec::new();
    expand(
        "",
        "super::{Store, chain::{append, anchor as a}}",
        &mut paths,
    );
    assert_eq!(
        paths,
        [
            "super::Store",
            "super::chain::append",
            "super::chain::anchor"
        ]
    );
}
