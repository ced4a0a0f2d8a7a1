//! Nonresponse adjustment by weighting classes: the design weights of the respondents of each
//! class — a sampling stratum (direction × channel) in the month its requests closed — scaled so
//! that they add up to the number of closed requests of that class, the frame count N_g:
//!
//!   w*_i = w_i · N_g / Σ_{j∈g} w_j
//!
//! (post-stratification to known totals; Kalton & Flores-Cervantes 2003, "Weighting methods",
//! J. Official Statistics 19(2), §2.2). The weighted estimates then stand for every closed
//! request of the class, whoever answered. Scaling a class by a scales its cells' Σw by a and Σw²
//! by a², so the adjusted cells are as small as the others; their variance is that of a
//! post-stratified design (`design::Design::post_stratified`), as R's `survey` computes it for
//! `postStratify()`.
//!
//! **Sparse classes.** A class with fewer than `min_respondents` respondents (none at all
//! included, when requests of it closed) would give a few respondents an outsized weight, or
//! leave requests unrepresented: the channels of its direction are then taken together for that
//! month, and if that is still too few, the direction over the quarter. A class still without a
//! respondent after that has no factor: its requests are reported as not represented. Responses
//! without a class (imported from an earlier tool: no frame on the platform) keep their weights.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::cells::Cell;

/// A weighting class: one channel of a direction, or all of them, over a month ("YYYY-MM") or
/// a quarter ("YYYY-Qn").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClassKey {
    pub direction: String,
    /// `None`: every channel of the direction (collapsed).
    pub channel: Option<String>,
    pub period: String,
}

impl ClassKey {
    /// The class of a stratum's requests closed in `month` ("YYYY-MM").
    pub fn of(direction: &str, channel: &str, month: &str) -> ClassKey {
        ClassKey { direction: direction.into(), channel: Some(channel.into()), period: month.into() }
    }
}

/// The respondents of a weighting class, before the adjustment: all of them, whatever period
/// is reported, so that a response's adjusted weight is the same in every report.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTally {
    pub class: ClassKey,
    pub respondents: u64,
    /// Σw (design weights) of its respondents.
    pub design_weight: f64,
}

impl ClassTally {
    /// The tallies of the classes of `cells`, when they hold every respondent.
    pub fn of_cells(cells: &[Cell]) -> Vec<ClassTally> {
        let mut tallies: BTreeMap<ClassKey, (u64, f64)> = BTreeMap::new();
        for cell in cells {
            if let Some(class) = class_of(cell) {
                let tally = tallies.entry(class).or_default();
                tally.0 += cell.count;
                tally.1 += cell.sum_w;
            }
        }
        tallies
            .into_iter()
            .map(|(class, (respondents, design_weight))| ClassTally { class, respondents, design_weight })
            .collect()
    }
}

/// The base class of a cell's responses: its stratum in its class month (none without one).
fn class_of(cell: &Cell) -> Option<ClassKey> {
    (!cell.class_month.is_empty()).then(|| ClassKey::of(&cell.direction, &cell.channel, &cell.class_month))
}

/// The frame: how many requests of a stratum closed in a month (cancelled and duplicate ones
/// excluded), with or without a usable contact.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameCount {
    pub direction: String,
    pub channel: String,
    /// "YYYY-MM"
    pub month: String,
    pub requests: u64,
}

/// What the adjustment did to one (final) class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    pub class: ClassKey,
    pub respondents: u64,
    /// Closed requests of the class (N_g).
    pub requests: u64,
    /// Σw of its respondents before the adjustment.
    pub design_weight: f64,
    /// N_g / Σw: `None` when the class has no respondent (its requests are not represented) or
    /// no frame count (its respondents keep their weights).
    pub factor: Option<f64>,
    /// Formed by collapsing sparse classes.
    pub collapsed: bool,
}

/// Adjusted cells, each cell's class (an index into `classes`, `None` when its weights were
/// kept), and the classes.
#[derive(Debug, Clone)]
pub struct Adjusted {
    pub cells: Vec<Cell>,
    pub class_of: Vec<Option<usize>>,
    pub classes: Vec<ClassReport>,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    respondents: u64,
    requests: u64,
    design_weight: f64,
}

/// The base classes' tallies added up in the classes they go to.
fn gathered(base: &BTreeMap<ClassKey, Tally>, target: &BTreeMap<ClassKey, ClassKey>) -> BTreeMap<ClassKey, Tally> {
    let mut classes: BTreeMap<ClassKey, Tally> = BTreeMap::new();
    for (key, tally) in base {
        let into = classes.entry(target[key].clone()).or_default();
        into.respondents += tally.respondents;
        into.requests += tally.requests;
        into.design_weight += tally.design_weight;
    }
    classes
}

fn quarter(month: &str) -> String {
    let (year, number) = month.split_once('-').unwrap_or((month, "01"));
    let number: u32 = number.parse().unwrap_or(1);
    format!("{year}-Q{}", (number.clamp(1, 12) - 1) / 3 + 1)
}

/// Adjust `cells` (the respondents of a period; each cell's class is its stratum in its
/// `class_month`, none when that is empty) to the `frame`, the factors and the collapsing decided
/// on every respondent of each class (`respondents`), classes of fewer than `min_respondents`
/// respondents collapsed.
pub fn adjust(cells: &[Cell], respondents: &[ClassTally], frame: &[FrameCount], min_respondents: u64) -> Adjusted {
    let classes: Vec<Option<ClassKey>> = cells.iter().map(class_of).collect();
    // The base classes, respondents and requests.
    let mut base: BTreeMap<ClassKey, Tally> = BTreeMap::new();
    for tally in respondents {
        let into = base.entry(tally.class.clone()).or_default();
        into.respondents += tally.respondents;
        into.design_weight += tally.design_weight;
    }
    // A class of the period missing from the tallies (written since they were read) is kept,
    // without respondents: its cells keep their weights rather than being scaled on a guess.
    for class in classes.iter().flatten() {
        base.entry(class.clone()).or_default();
    }
    for count in frame {
        base.entry(ClassKey::of(&count.direction, &count.channel, &count.month)).or_default().requests +=
            count.requests;
    }
    let sparse = |t: &Tally| t.respondents < min_respondents.max(1);

    // Where each base class goes: itself, its direction's month, or its direction's quarter.
    let mut target: BTreeMap<ClassKey, ClassKey> = base.keys().map(|k| (k.clone(), k.clone())).collect();
    let direction_month = |k: &ClassKey| ClassKey { channel: None, ..k.clone() };
    let months_to_collapse: BTreeSet<ClassKey> =
        base.iter().filter(|(_, t)| sparse(t)).map(|(k, _)| direction_month(k)).collect();
    for (key, goes_to) in target.iter_mut() {
        if months_to_collapse.contains(&direction_month(key)) {
            *goes_to = direction_month(key);
        }
    }
    let merged = gathered(&base, &target);
    let quarters_to_collapse: BTreeSet<(String, String)> = merged
        .iter()
        .filter(|(k, t)| k.channel.is_none() && sparse(t))
        .map(|(k, _)| (k.direction.clone(), quarter(&k.period)))
        .collect();
    for (key, goes_to) in target.iter_mut() {
        let at = (key.direction.clone(), quarter(&key.period));
        if quarters_to_collapse.contains(&at) {
            *goes_to = ClassKey { direction: at.0, channel: None, period: at.1 };
        }
    }
    let finals = gathered(&base, &target);

    let reports: Vec<ClassReport> = finals
        .iter()
        .map(|(class, t)| ClassReport {
            class: class.clone(),
            respondents: t.respondents,
            requests: t.requests,
            design_weight: t.design_weight,
            factor: (t.respondents > 0 && t.requests > 0 && t.design_weight > 0.0)
                .then(|| t.requests as f64 / t.design_weight),
            collapsed: class.channel.is_none(),
        })
        .collect();
    let index: BTreeMap<&ClassKey, usize> = reports.iter().enumerate().map(|(i, r)| (&r.class, i)).collect();

    let mut adjusted = Vec::with_capacity(cells.len());
    let mut class_of = Vec::with_capacity(cells.len());
    for (cell, class) in cells.iter().zip(&classes) {
        let final_class = class.as_ref().map(|k| index[&target[k]]);
        let factor = final_class.and_then(|g| reports[g].factor);
        let mut cell = cell.clone();
        if let Some(a) = factor {
            cell.sum_w *= a;
            cell.sum_w2 *= a * a;
        }
        adjusted.push(cell);
        class_of.push(final_class.filter(|_| factor.is_some()));
    }
    Adjusted { cells: adjusted, class_of, classes: reports }
}

#[cfg(test)]
mod tests;
