//! Chart geometry for server-rendered SVG: Rust computes coordinates and preformatted labels into
//! serde view models; `templates/charts/_charts.html.j2` writes the markup; every colour is in
//! the stylesheet (the Content-Security-Policy forbids inline styles). The viewBox is 400 units
//! wide, about a phone's CSS width, so text is drawn 1:1 there.

use serde::Serialize;

use crate::domain::Locale;
use crate::reporting::export::number;

const WIDTH: f64 = 400.0;
const LEFT: f64 = 8.0;
const RIGHT: f64 = 352.0;
const BAR_H: f64 = 14.0;
/// A label above each bar, then the bar: 38 units a row.
const ROW_H: f64 = 38.0;
const TOP: f64 = 22.0;

/// One group of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct BarInput {
    pub label: String,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub n: u64,
    pub suppressed: bool,
    /// Significantly above (1) or below (−1) the rest of the city after Holm, else 0.
    pub significance: i8,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tick {
    pub at: f64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BarRow {
    pub label: String,
    pub label_y: f64,
    pub bar_y: f64,
    pub bar_w: f64,
    pub mid_y: f64,
    pub lo_x: f64,
    pub hi_x: f64,
    pub value: String,
    pub n: String,
    pub suppressed: bool,
    pub sig: i8,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BarsChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub bar_h: f64,
    pub ticks: Vec<Tick>,
    pub rows: Vec<BarRow>,
    pub ref_x: Option<f64>,
    pub ref_label: String,
}

/// x of a score on 0–10.
fn x_of(score: f64) -> f64 {
    LEFT + (RIGHT - LEFT) * score.clamp(0.0, 10.0) / 10.0
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Integers with the reader's thousands separator ("2 417", "2,417").
pub fn integer(n: u64, locale: Locale) -> String {
    let digits = n.to_string();
    let separator = if locale == Locale::Fr { '\u{202f}' } else { ',' };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// Horizontal bars on 0–10 with interval whiskers, sorted by mean (suppressed groups last),
/// the city's mean as a reference line.
pub fn bars(id: &str, title: &str, reference: Option<f64>, rows: &[BarInput], locale: Locale, min_n: u64) -> BarsChart {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a.suppressed.cmp(&b.suppressed).then(b.mean.unwrap_or(0.0).total_cmp(&a.mean.unwrap_or(0.0))));
    let fr = locale == Locale::Fr;
    let mut descriptions = Vec::new();
    let rows: Vec<BarRow> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let top = TOP + ROW_H * i as f64;
            let value = number(r.mean, 1, locale);
            if r.suppressed {
                descriptions.push(if fr {
                    format!("{} : masqué (n = {} < {min_n})", r.label, r.n)
                } else {
                    format!("{}: hidden (n = {} < {min_n})", r.label, r.n)
                });
            } else {
                let interval = format!(
                    "{} {} {}",
                    number(r.ci_low, 1, locale),
                    if fr { "à" } else { "to" },
                    number(r.ci_high, 1, locale)
                );
                let note = match (r.significance, fr) {
                    (1, true) => ", significativement au-dessus",
                    (-1, true) => ", significativement au-dessous",
                    (1, false) => ", significantly above",
                    (-1, false) => ", significantly below",
                    _ => "",
                };
                descriptions.push(format!("{} : {value} (IC 95 % {interval}{note})", r.label));
            }
            BarRow {
                label: r.label.clone(),
                label_y: round1(top + 10.0),
                bar_y: round1(top + 16.0),
                bar_w: if r.suppressed { round1(RIGHT - LEFT) } else { round1(x_of(r.mean.unwrap_or(0.0)) - LEFT) },
                mid_y: round1(top + 16.0 + BAR_H / 2.0),
                lo_x: round1(x_of(r.ci_low.or(r.mean).unwrap_or(0.0))),
                hi_x: round1(x_of(r.ci_high.or(r.mean).unwrap_or(0.0))),
                value,
                n: integer(r.n, locale),
                suppressed: r.suppressed,
                sig: r.significance,
            }
        })
        .collect();
    let bottom = round1(TOP + ROW_H * rows.len() as f64 + 4.0);
    let ticks = (0..=5)
        .map(|i| {
            let score = f64::from(i) * 2.0;
            Tick { at: round1(x_of(score)), label: number(Some(score), 0, locale) }
        })
        .collect();
    BarsChart {
        id: id.to_owned(),
        title: title.to_owned(),
        desc: descriptions.join(" ; "),
        width: WIDTH,
        height: bottom + 22.0,
        left: LEFT,
        right: RIGHT + 40.0,
        top: TOP,
        bottom,
        bar_h: BAR_H,
        ticks,
        rows,
        ref_x: reference.map(|r| round1(x_of(r))),
        ref_label: format!("{} {}", if fr { "Ville" } else { "City" }, number(reference, 1, locale)),
    }
}

/// One month of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct PointInput {
    /// "YYYY-MM"
    pub month: String,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrendPoint {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub value: String,
    /// Every other month label is hidden on narrow screens and in print.
    pub minor: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrendChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: f64,
    pub height: f64,
    pub top: f64,
    pub bottom: f64,
    pub left: f64,
    pub right: f64,
    pub ticks: Vec<Tick>,
    /// The line's points ("x,y x,y"), the band's path, and the points with labels.
    pub line: String,
    pub band: String,
    pub points: Vec<TrendPoint>,
}

const T_TOP: f64 = 12.0;
const T_BOTTOM: f64 = 172.0;
const T_LEFT: f64 = 34.0;
/// Room on the right for half of the last label ("nov. 2026", "T3 2026"), which is centred on its point.
const T_RIGHT: f64 = 366.0;

/// The monthly trend of the mean on a 0–10 axis zoomed to the data (at least 2 points wide),
/// with its 95 % band; suppressed months are left out of the line.
pub fn trend(id: &str, title: &str, points: &[PointInput], locale: Locale) -> TrendChart {
    let shown: Vec<&PointInput> = points.iter().filter(|p| !p.suppressed && p.mean.is_some()).collect();
    let low = shown.iter().filter_map(|p| p.ci_low.or(p.mean)).fold(10.0f64, f64::min);
    let high = shown.iter().filter_map(|p| p.ci_high.or(p.mean)).fold(0.0f64, f64::max);
    let (mut d0, mut d1) = ((low - 0.5).floor().max(0.0), (high + 0.5).ceil().min(10.0));
    if d1 - d0 < 2.0 {
        d0 = (d1 - 2.0).max(0.0);
        d1 = (d0 + 2.0).min(10.0);
    }
    if shown.is_empty() {
        (d0, d1) = (0.0, 10.0);
    }
    let y_of = |v: f64| round1(T_BOTTOM - (T_BOTTOM - T_TOP) * (v - d0) / (d1 - d0));
    let step = if points.len() > 1 { (T_RIGHT - T_LEFT) / (points.len() - 1) as f64 } else { 0.0 };
    let x_of =
        |i: usize| round1(T_LEFT + step * i as f64 + if points.len() == 1 { (T_RIGHT - T_LEFT) / 2.0 } else { 0.0 });
    let mut trend_points = Vec::new();
    let (mut upper, mut lower) = (Vec::new(), Vec::new());
    let mut descriptions = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let label = month_label(&p.month, locale);
        match (p.suppressed, p.mean) {
            (false, Some(mean)) => {
                trend_points.push(TrendPoint {
                    x: x_of(i),
                    y: y_of(mean),
                    label: label.clone(),
                    value: number(Some(mean), 1, locale),
                    minor: i % 2 == 1,
                });
                upper.push(format!("{},{}", x_of(i), y_of(p.ci_high.unwrap_or(mean))));
                lower.push(format!("{},{}", x_of(i), y_of(p.ci_low.unwrap_or(mean))));
                descriptions.push(format!("{label} : {}", number(Some(mean), 1, locale)));
            }
            _ => descriptions.push(format!("{label} : —")),
        }
    }
    lower.reverse();
    let band = if upper.is_empty() { String::new() } else { format!("M{}L{}Z", upper.join("L"), lower.join("L")) };
    let line = trend_points.iter().map(|p| format!("{},{}", p.x, p.y)).collect::<Vec<_>>().join(" ");
    let ticks = (0..=((d1 - d0) as u32))
        .map(|k| {
            let v = d0 + f64::from(k);
            Tick { at: y_of(v), label: number(Some(v), 0, locale) }
        })
        .collect();
    TrendChart {
        id: id.to_owned(),
        title: title.to_owned(),
        desc: descriptions.join(" ; "),
        width: WIDTH,
        height: T_BOTTOM + 30.0,
        top: T_TOP,
        bottom: T_BOTTOM,
        left: T_LEFT,
        right: T_RIGHT,
        ticks,
        line,
        band,
        points: trend_points,
    }
}

/// "2026-11" as "nov. 2026" / "Nov 2026".
pub fn month_label(month: &str, locale: Locale) -> String {
    const FR: [&str; 12] =
        ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.", "déc."];
    const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let Some((year, number)) = month.split_once('-') else { return month.to_owned() };
    let Ok(index) = number.parse::<usize>() else { return month.to_owned() };
    let names = if locale == Locale::Fr { FR } else { EN };
    names.get(index.wrapping_sub(1)).map_or(month.to_owned(), |name| format!("{name} {year}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, mean: f64, suppressed: bool, significance: i8) -> BarInput {
        BarInput {
            label: label.into(),
            mean: (!suppressed).then_some(mean),
            ci_low: (!suppressed).then_some(mean - 0.3),
            ci_high: (!suppressed).then_some(mean + 0.3),
            n: if suppressed { 7 } else { 2417 },
            suppressed,
            significance,
        }
    }

    #[test]
    fn bars_are_sorted_scaled_and_described_in_french() {
        let chart = bars(
            "dir",
            "Par direction",
            Some(8.0),
            &[row("Travaux publics", 7.0, false, -1), row("Greffe", 0.0, true, 0), row("Loisirs", 9.3, false, 1)],
            Locale::Fr,
            30,
        );
        let labels: Vec<&str> = chart.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Loisirs", "Travaux publics", "Greffe"], "best first, suppressed last");
        let best = &chart.rows[0];
        assert_eq!((best.value.as_str(), best.sig, best.n.as_str()), ("9,3", 1, "2\u{202f}417"));
        assert_eq!(best.bar_w, round1(x_of(9.3) - LEFT));
        assert!(best.lo_x < best.hi_x);
        assert_eq!(chart.ref_x, Some(round1(x_of(8.0))));
        assert_eq!(chart.ref_label, "Ville 8,0");
        assert!(
            chart.desc.contains("Loisirs : 9,3 (IC 95 % 9,0 à 9,6, significativement au-dessus)"),
            "{}",
            chart.desc
        );
        assert!(chart.desc.contains("Greffe : masqué (n = 7 < 30)"));
    }

    #[test]
    fn the_trend_zooms_on_its_data_and_skips_suppressed_months() {
        let point = |month: &str, mean: f64, suppressed: bool| PointInput {
            month: month.into(),
            mean: Some(mean),
            ci_low: Some(mean - 0.2),
            ci_high: Some(mean + 0.2),
            suppressed,
        };
        let chart = trend(
            "trend",
            "Tendance",
            &[point("2026-01", 9.1, false), point("2026-02", 5.0, true), point("2026-03", 9.3, false)],
            Locale::Fr,
        );
        assert_eq!(chart.points.len(), 2);
        assert_eq!(chart.points[0].label, "janv. 2026");
        assert_eq!(chart.points[1].value, "9,3");
        assert!(chart.band.starts_with('M') && chart.band.ends_with('Z'));
        let labels: Vec<&str> = chart.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["8", "9", "10"], "zoomed to the data");
        assert!(chart.desc.contains("févr. 2026 : —"));
        assert_eq!(integer(1234567, Locale::En), "1,234,567");
        assert_eq!(month_label("2026-12", Locale::En), "Dec 2026");
    }
}
