//! What both benchmarks share: statistics over samples (median, percentiles, spread) and the
//! result tables they print — one row per figure with its anchor measured in the same run, the
//! ratio, the target and a verdict, then a summary of the targets met.
#![allow(dead_code)] // Each benchmark uses its own part.

pub use reverie::cli::thousands;
use std::fmt::Write as _;

pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

pub fn median(v: &[f64]) -> f64 {
    let s = sorted(v);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    let s = sorted(v);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

pub fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

pub fn max(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

pub fn spread(v: &[f64], format: impl Fn(f64) -> String) -> String {
    if v.len() < 2 {
        return String::new();
    }
    format!("{} … {}", format(min(v)), format(max(v)))
}

pub fn secs(s: f64) -> String {
    let a = s.abs();
    if a.is_nan() {
        "—".to_string()
    } else if a < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if a < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

pub fn ratio(r: f64) -> String {
    if r.is_finite() { format!("{r:.2}×") } else { "—".to_string() }
}

pub fn mb(b: f64) -> String {
    if b.is_finite() { format!("{:.1} MB", b / 1e6) } else { "—".to_string() }
}

pub fn pct(r: f64) -> String {
    if r.is_finite() { format!("{:.1}%", r * 100.0) } else { "—".to_string() }
}

pub fn mib(b: f64) -> String {
    format!("{:.1} MiB", b / (1024.0 * 1024.0))
}

pub struct Row {
    pub figure: String,
    pub value: String,
    pub spread: String,
    pub anchor: String,
    pub ratio: String,
    pub target: String,
    /// `None`: no target (information only).
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(figure: &str, value: String, spread: &str, target: String, pass: Option<bool>) -> Row {
        Row {
            figure: figure.to_string(),
            value,
            spread: spread.to_string(),
            anchor: "—".to_string(),
            ratio: "—".to_string(),
            target,
            pass,
        }
    }

    pub fn info(figure: &str, value: String, spread: &str) -> Row {
        Row::new(figure, value, spread, "—".to_string(), None)
    }

    pub fn anchor(mut self, anchor: String, ratio: String) -> Row {
        self.anchor = anchor;
        self.ratio = ratio;
        self
    }

    pub fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "info",
        }
    }
}

pub struct Table {
    pub title: String,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn new(title: &str) -> Table {
        Table { title: title.to_string(), rows: Vec::new() }
    }

    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn print(&self) {
        let header = ["figure", "median", "spread (min … max)", "anchor (same run)", "ratio", "target", "verdict"];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.figure.clone(),
                    r.value.clone(),
                    r.spread.clone(),
                    r.anchor.clone(),
                    r.ratio.clone(),
                    r.target.clone(),
                    r.verdict().to_string(),
                ]
            })
            .collect();
        // Columns empty in every row are left out.
        let shown: Vec<usize> =
            (0..header.len()).filter(|&i| i == 0 || cells.iter().any(|r| !r[i].is_empty())).collect();
        let header: Vec<String> = shown.iter().map(|&i| header[i].to_string()).collect();
        let cells: Vec<Vec<String>> = cells.iter().map(|r| shown.iter().map(|&i| r[i].clone()).collect()).collect();
        let right: Vec<bool> = shown.iter().map(|&i| i == 1 || i == 4).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("  ");
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                let pad = w - c.chars().count();
                // Figures and text left-aligned; numbers right-aligned.
                if right[i] {
                    let _ = write!(out, "{}{c}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "{c}{}", " ".repeat(pad));
                }
                if i + 1 < cells.len() {
                    out.push_str("  ");
                }
            }
            println!("{}", out.trim_end());
        };
        println!("\n{}", self.title);
        line(&header);
        line(&widths.iter().map(|&w| "─".repeat(w)).collect::<Vec<_>>());
        for row in &cells {
            line(row);
        }
    }
}

#[derive(Default)]
pub struct Summary {
    pub rows: Vec<Row>,
}

impl Summary {
    pub fn add(&mut self, section: &str, row: &Row) {
        if row.pass.is_some() {
            self.rows.push(Row {
                figure: format!("{section}: {}", row.figure.trim()),
                value: row.value.clone(),
                spread: String::new(),
                anchor: row.anchor.clone(),
                ratio: row.ratio.clone(),
                target: row.target.clone(),
                pass: row.pass,
            });
        }
    }

    pub fn print(self) {
        // Only the per-language section ran (it has no targets): no empty table.
        if self.rows.is_empty() {
            return;
        }
        let passed = self.rows.iter().filter(|r| r.pass == Some(true)).count();
        let mut table = Table::new(&format!("Summary: {passed} of {} targets met", self.rows.len()));
        for row in self.rows {
            table.row(row);
        }
        table.print();
    }
}
