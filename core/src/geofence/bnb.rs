//! Depth-first branch and bound over an rstar tree, nearest child first.
//!
//! rstar's own nearest-neighbour iterator cannot prune by a bound that the
//! caller tightens as it goes (it queues every child of every node it
//! opens, on a heap it allocates); here the caller's bound cuts whole
//! subtrees, with no allocation. Used for the nearest site and for the
//! nearest boundary edge of a large polygon.

use rstar::{AABB, ParentNode, RTreeNode, RTreeObject};

use super::geodesy::Vec3;

pub(crate) trait BranchAndBound<T: RTreeObject> {
    /// A lower bound on the score of anything under `node`.
    fn lower_bound(&self, node: &RTreeNode<T>) -> f64;
    /// Whether a subtree with that lower bound may still improve the
    /// answer (re-evaluated after every visit, as the bound tightens).
    fn worth(&self, lower: f64) -> bool;
    fn leaf(&mut self, object: &T);
}

/// Children at most this many are ordered; rstar's nodes are smaller (8
/// for sites, 6 for polygon edges). The arrays below are cleared on every
/// node visited, so they are kept no larger than needed.
const MAX_ORDERED: usize = 16;

pub(crate) fn search<T: RTreeObject, S: BranchAndBound<T>>(node: &ParentNode<T>, s: &mut S) {
    let children = node.children();
    if children.len() > MAX_ORDERED {
        // Not reached with the node sizes used here; unordered is slower,
        // still exact.
        for child in children {
            if s.worth(s.lower_bound(child)) {
                descend(child, s);
            }
        }
        return;
    }
    let mut lower = [0.0f64; MAX_ORDERED];
    let mut done = [false; MAX_ORDERED];
    for (slot, child) in lower.iter_mut().zip(children) {
        *slot = s.lower_bound(child);
    }
    // Selection rather than sorting: usually one or two children are
    // visited before the bound prunes the rest.
    for _ in 0..children.len() {
        let mut at = None;
        for k in 0..children.len() {
            if !done[k] && at.is_none_or(|a: usize| lower[k] < lower[a]) {
                at = Some(k);
            }
        }
        let Some(at) = at else { break };
        if !s.worth(lower[at]) {
            break;
        }
        done[at] = true;
        descend(&children[at], s);
    }
}

fn descend<T: RTreeObject, S: BranchAndBound<T>>(child: &RTreeNode<T>, s: &mut S) {
    match child {
        RTreeNode::Leaf(object) => s.leaf(object),
        RTreeNode::Parent(node) => search(node, s),
    }
}

/// Squared distance from `p` to a box (0 inside).
#[inline]
pub(crate) fn box_distance2(b: &AABB<Vec3>, p: Vec3) -> f64 {
    let (lo, hi) = (b.lower(), b.upper());
    let mut d2 = 0.0;
    for k in 0..3 {
        let d = (lo[k] - p[k]).max(p[k] - hi[k]).max(0.0);
        d2 += d * d;
    }
    d2
}
