//! Criterion benchmark of the pure statistics module: the cells of a year of 1,000,000
//! responses (8 directions × 6 channels × 12 months × 11 scores, one stratum per
//! direction × channel) turned into estimates by direction × channel and by month.

use criterion::{Criterion, criterion_group, criterion_main};
use satisfaction::stats::{Cell, GroupBy, Options, estimate};

fn year_of_cells() -> Vec<Cell> {
    let directions = ["TP", "ENV", "URB", "VC", "GEN", "COM", "FIN", "SEC"];
    let channels = ["phone", "web_form", "email", "social_media", "counter", "portal"];
    let mut cells = Vec::new();
    let mut seed = 311u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    for d in directions {
        for c in channels {
            for m in 1..=12 {
                for score in 0..=10u8 {
                    let count = (1_000_000.0 / (8.0 * 6.0 * 12.0 * 11.0) * (0.2 + 1.6 * next())) as u64;
                    let weight = 1.0 / (0.05 + 0.9 * next());
                    cells.push(Cell {
                        direction: d.into(),
                        channel: c.into(),
                        month: format!("2022-{m:02}"),
                        class_month: String::new(),
                        stratum: format!("{d}:{c}"),
                        score,
                        count,
                        sum_w: weight * count as f64,
                        sum_w2: weight * weight * count as f64,
                    });
                }
            }
        }
    }
    cells
}

fn bench(c: &mut Criterion) {
    let cells = year_of_cells();
    let responses: u64 = cells.iter().map(|c| c.count).sum();
    let options = |by| Options { by, weighted: true, confidence: 0.95, min_n: 10, direction: None, channel: None };
    c.bench_function(&format!("estimate by direction,channel ({} cells, {responses} responses)", cells.len()), |b| {
        b.iter(|| estimate(&cells, &options(GroupBy::DirectionChannel)))
    });
    c.bench_function("estimate by month", |b| b.iter(|| estimate(&cells, &options(GroupBy::Month))));
    c.bench_function("estimate overall, unweighted", |b| {
        b.iter(|| estimate(&cells, &Options { weighted: false, ..options(GroupBy::None) }))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
