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
//! leave requests unrepresented: it is collapsed with other channels of its direction for that
//! month — pooled with the other sparse ones, the pool joined to the direction's smallest
//! sufficient channel if still too small (`pooled_channels`) —, and when the direction has no
//! sufficient channel that month and is still too few, the direction is taken over the quarter. A class still without a
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
    /// `None`: every channel of the direction (collapsed); channels joined by '+' when sparse
    /// ones were pooled ("web_form+counter+portal").
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

/// Where the channels of one direction-month go when some are sparse (fewer than `min`
/// respondents, or requests and no respondent): the sparse ones are pooled together; a pool still
/// under `min` joins the direction's sufficient channel with the fewest respondents that month;
/// with no sufficient channel, the whole month is one class (`channel: None`), which the quarter
/// step may collapse further. The channels that had enough keep their own classes, so the
/// adjustment still tells phone callers from web-form users (collapsing the whole month at the
/// first sparse channel — a counter with two requests — would undo exactly that). A pooled class
/// is named by its channels joined with '+', the sufficient one first; one that gathers every
/// channel of the month is the month's class.
fn pooled_channels(month: &ClassKey, classes: &[(&ClassKey, &Tally)], min: u64) -> Vec<(ClassKey, ClassKey)> {
    let (sparse, sufficient): (Vec<_>, Vec<_>) = classes.iter().partition(|(_, t)| t.respondents < min);
    if sparse.is_empty() {
        return Vec::new();
    }
    let pool_respondents: u64 = sparse.iter().map(|(_, t)| t.respondents).sum();
    let mut pool: Vec<&ClassKey> = sparse.iter().map(|(k, _)| *k).collect();
    if pool_respondents < min {
        match sufficient.iter().min_by_key(|(k, t)| (t.respondents, *k)) {
            Some((joined, _)) => pool.insert(0, joined),
            None => return pool.into_iter().map(|k| (k.clone(), month.clone())).collect(),
        }
    }
    let class = if pool.len() == classes.len() {
        month.clone()
    } else {
        let channels: Vec<&str> = pool.iter().filter_map(|k| k.channel.as_deref()).collect();
        ClassKey { channel: Some(channels.join("+")), ..month.clone() }
    };
    pool.into_iter().map(|k| (k.clone(), class.clone())).collect()
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

    // Where each base class goes: itself, a pool of its direction's channels that month, its
    // direction's month, or its direction's quarter.
    let mut target: BTreeMap<ClassKey, ClassKey> = base.keys().map(|k| (k.clone(), k.clone())).collect();
    let direction_month = |k: &ClassKey| ClassKey { channel: None, ..k.clone() };
    let mut months: BTreeMap<ClassKey, Vec<(&ClassKey, &Tally)>> = BTreeMap::new();
    for (key, tally) in &base {
        months.entry(direction_month(key)).or_default().push((key, tally));
    }
    for (month, classes) in &months {
        for (key, pooled) in pooled_channels(month, classes, min_respondents.max(1)) {
            target.insert(key.clone(), pooled);
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

    let mut members: BTreeMap<&ClassKey, usize> = BTreeMap::new();
    for goes_to in target.values() {
        *members.entry(goes_to).or_default() += 1;
    }
    let reports: Vec<ClassReport> = finals
        .iter()
        .map(|(class, t)| ClassReport {
            class: class.clone(),
            respondents: t.respondents,
            requests: t.requests,
            design_weight: t.design_weight,
            factor: (t.respondents > 0 && t.requests > 0 && t.design_weight > 0.0)
                .then(|| t.requests as f64 / t.design_weight),
            collapsed: members.get(class).copied().unwrap_or(0) > 1 || class.channel.is_none(),
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
