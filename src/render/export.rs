//! The whole graph as Graphviz dot or Mermaid.

use crate::graph::{EdgeKind, RevisionMap};

/// A revision's parents then its dependencies, in declared order.
fn parent_edges(map: &RevisionMap, r: usize) -> impl Iterator<Item = (&str, EdgeKind)> {
    let rev = map.rev(r);
    let down = rev
        .parents()
        .iter()
        .map(|&p| (map.rev(p).id.as_str(), EdgeKind::Down));
    let deps = rev
        .resolved_deps()
        .iter()
        .map(|&d| (map.rev(d).id.as_str(), EdgeKind::DependsOn));
    down.chain(deps)
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz: one node per revision (ghost nodes for missing parents), an edge child → parent.
pub fn dot(map: &RevisionMap) -> String {
    let mut s = String::from(
        "digraph migrations {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, rev) in map.revisions().iter().enumerate() {
        if rev.phantom {
            continue;
        }
        let mut attrs = vec![format!(
            "label=\"{}\\n{}\"",
            quote(&rev.id),
            quote(&rev.message)
        )];
        if map.heads().contains(&i) {
            attrs.push("style=bold".into());
        }
        if rev.is_base() {
            attrs.push("shape=house".into());
        }
        s += &format!("  \"{}\" [{}];\n", quote(&rev.id), attrs.join(", "));
    }
    for (i, rev) in map.revisions().iter().enumerate() {
        if rev.phantom {
            continue;
        }
        for m in rev.missing_parents() {
            s += &format!(
                "  \"{}\" [label=\"{} (missing)\", style=dashed];\n",
                quote(m),
                quote(m)
            );
            s += &format!(
                "  \"{}\" -> \"{}\" [style=dashed];\n",
                quote(&rev.id),
                quote(m)
            );
        }
        for (parent, kind) in parent_edges(map, i) {
            let style = match kind {
                EdgeKind::Down => "",
                EdgeKind::DependsOn => " [style=dotted, label=\"depends_on\"]",
            };
            s += &format!(
                "  \"{}\" -> \"{}\"{style};\n",
                quote(&rev.id),
                quote(parent)
            );
        }
    }
    s += "}\n";
    s
}

/// Mermaid flowchart, bottom (bases) to top (heads).
pub fn mermaid(map: &RevisionMap) -> String {
    let node = |id: &str| {
        format!(
            "r_{}",
            id.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        )
    };
    let label = |s: &str| s.replace('"', "#quot;");
    let mut s = String::from("flowchart BT\n");
    for rev in map.revisions().iter().filter(|r| !r.phantom) {
        s += &format!(
            "  {}[\"{}<br/>{}\"]\n",
            node(&rev.id),
            label(&rev.id),
            label(&rev.message)
        );
    }
    for (i, rev) in map.revisions().iter().enumerate() {
        if rev.phantom {
            continue;
        }
        for m in rev.missing_parents() {
            s += &format!("  {}[\"{} (missing)\"]\n", node(m), label(m));
            s += &format!("  {} -.-> {}\n", node(&rev.id), node(m));
        }
        for (parent, kind) in parent_edges(map, i) {
            let arrow = match kind {
                EdgeKind::Down => "-->",
                EdgeKind::DependsOn => "-. depends_on .->",
            };
            s += &format!("  {} {arrow} {}\n", node(&rev.id), node(parent));
        }
    }
    s
}
