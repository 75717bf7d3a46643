//! Images that must stay together, by typed key: near-duplicate groups written as
//! [`KeyGroups`] in `cohort/duplicates.json` and mapped back onto a record list.

use std::collections::HashMap;

use cxr_cohort::{DuplicateGroup, DuplicateKind};
use cxr_core::{ImageKey, ImageRecord};

/// Images that must stay in one split part, by [`ImageKey`].
pub type KeyGroups = Vec<Vec<ImageKey>>;

pub(crate) fn groups_to_keys(records: &[ImageRecord], groups: &[DuplicateGroup]) -> KeyGroups {
    groups
        .iter()
        .map(|g| g.members.iter().map(|&i| records[i].key()).collect())
        .collect()
}

/// Duplicate groups (as [`KeyGroups`]) mapped onto `records` (members missing from
/// `records` dropped; groups left with one member dropped).
pub fn keys_to_groups(records: &[ImageRecord], groups: &KeyGroups) -> Vec<DuplicateGroup> {
    let index: HashMap<ImageKey, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.key(), i))
        .collect();
    groups
        .iter()
        .filter_map(|g| {
            let members: Vec<usize> = g.iter().filter_map(|k| index.get(k).copied()).collect();
            (members.len() > 1).then_some(DuplicateGroup {
                kind: DuplicateKind::Near,
                members,
            })
        })
        .collect()
}
