//! Charts as shapes on a canvas with y pointing down, drawn the same way into SVG (for HTML) and
//! into PDF content. Two kinds are needed — a trend line and bars by city — so they are laid out
//! here rather than through a plotting crate: plotters writes SVG but not PDF, and turning its
//! SVG into PDF would pull in a whole SVG renderer.

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// Series colours, readable on white and in grey print.
pub const PALETTE: [Rgb; 4] = [(31, 94, 168), (214, 110, 20), (46, 139, 87), (150, 40, 40)];
const AXIS: Rgb = (90, 90, 90);
const GRID: Rgb = (220, 220, 220);
const TEXT: Rgb = (30, 30, 30);

/// Where a text's x is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Its left end.
    Start,
    /// Its middle.
    Middle,
    /// Its right end.
    End,
}

/// One thing drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A polyline.
    Line {
        /// Its points.
        points: Vec<(f32, f32)>,
        /// Colour.
        color: Rgb,
        /// Stroke width.
        width: f32,
    },
    /// A filled rectangle from its top-left corner.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill.
        color: Rgb,
    },
    /// A filled dot.
    Dot {
        /// Centre x.
        x: f32,
        /// Centre y.
        y: f32,
        /// Radius.
        r: f32,
        /// Fill.
        color: Rgb,
    },
    /// Text on its baseline.
    Text {
        /// x, per the anchor.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size.
        size: f32,
        /// Where x is.
        anchor: Anchor,
        /// Colour.
        color: Rgb,
        /// What it says.
        text: String,
    },
}

/// A chart: its size and what is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title (drawn by the document, not the chart).
    pub title: String,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Shapes in drawing order.
    pub shapes: Vec<Shape>,
}

fn text(x: f32, y: f32, size: f32, anchor: Anchor, s: impl Into<String>) -> Shape {
    Shape::Text { x, y, size, anchor, color: TEXT, text: s.into() }
}

/// A series of a line chart: its name, and one value per x label (missing months are gaps).
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// Values in `[0, 1]`.
    pub values: Vec<Option<f64>>,
}

/// Percentages over months: y from `floor` to 100 %.
pub fn line_chart(title: &str, labels: &[String], series: &[Series<'_>], floor: f64) -> Chart {
    let (width, height) = (480.0_f32, 220.0_f32);
    let (left, right, top, bottom) = (44.0_f32, 12.0_f32, 28.0_f32, 30.0_f32);
    let (pw, ph) = (width - left - right, height - top - bottom);
    let floor = floor.clamp(0.0, 0.99);
    let y_of = |v: f64| top + ph * (1.0 - ((v - floor) / (1.0 - floor)).clamp(0.0, 1.0) as f32);
    let x_of = |i: usize| left + if labels.len() > 1 { pw * i as f32 / (labels.len() - 1) as f32 } else { pw / 2.0 };
    let mut shapes = Vec::new();
    for k in 0..=4 {
        let v = floor + (1.0 - floor) * f64::from(k) / 4.0;
        let y = y_of(v);
        shapes.push(Shape::Line { points: vec![(left, y), (left + pw, y)], color: GRID, width: 0.6 });
        shapes.push(text(left - 4.0, y + 3.0, 8.0, Anchor::End, format!("{:.0}%", v * 100.0)));
    }
    shapes.push(Shape::Line { points: vec![(left, top), (left, top + ph), (left + pw, top + ph)], color: AXIS, width: 0.8 });
    for (i, l) in labels.iter().enumerate() {
        shapes.push(text(x_of(i), top + ph + 14.0, 8.0, Anchor::Middle, l.clone()));
    }
    for (s, color) in series.iter().zip(PALETTE.iter().cycle()) {
        // A gap (a month with no data) breaks the line.
        let mut run: Vec<(f32, f32)> = Vec::new();
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let p = (x_of(i), y_of(*v));
                    shapes.push(Shape::Dot { x: p.0, y: p.1, r: 2.2, color: *color });
                    run.push(p);
                }
                None => {
                    if run.len() > 1 {
                        shapes.push(Shape::Line { points: std::mem::take(&mut run), color: *color, width: 1.6 });
                    }
                    run.clear();
                }
            }
        }
        if run.len() > 1 {
            shapes.push(Shape::Line { points: run, color: *color, width: 1.6 });
        }
    }
    let mut lx = left;
    for (s, color) in series.iter().zip(PALETTE.iter().cycle()) {
        shapes.push(Shape::Rect { x: lx, y: 10.0, w: 10.0, h: 8.0, color: *color });
        shapes.push(text(lx + 14.0, 17.5, 9.0, Anchor::Start, s.name));
        lx += 24.0 + 10.0 * s.name.chars().count() as f32;
    }
    Chart { title: title.to_string(), width, height, shapes }
}

/// Horizontal bars, one per label, values 0–100; `None` draws no bar and says so.
pub fn bar_chart(title: &str, bars: &[(String, Option<f64>)]) -> Chart {
    let row = 15.0_f32;
    let (left, right, top) = (64.0_f32, 40.0_f32, 8.0_f32);
    let width = 480.0_f32;
    let height = top + row * bars.len() as f32 + 22.0;
    let pw = width - left - right;
    let mut shapes = Vec::new();
    for k in 0..=4 {
        let x = left + pw * k as f32 / 4.0;
        shapes.push(Shape::Line { points: vec![(x, top), (x, top + row * bars.len() as f32)], color: GRID, width: 0.6 });
        shapes.push(text(x, top + row * bars.len() as f32 + 12.0, 8.0, Anchor::Middle, format!("{}", k * 25)));
    }
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = top + row * i as f32;
        shapes.push(text(left - 4.0, y + row * 0.72, 9.0, Anchor::End, label.clone()));
        match value {
            Some(v) => {
                let w = pw * (*v as f32 / 100.0).clamp(0.0, 1.0);
                shapes.push(Shape::Rect { x: left, y: y + 2.5, w, h: row - 5.0, color: PALETTE[0] });
                shapes.push(text(left + w + 3.0, y + row * 0.72, 8.0, Anchor::Start, format!("{v:.1}")));
            }
            None => shapes.push(text(left + 3.0, y + row * 0.72, 8.0, Anchor::Start, "无数据")),
        }
    }
    shapes.push(Shape::Line { points: vec![(left, top), (left, top + row * bars.len() as f32)], color: AXIS, width: 0.8 });
    Chart { title: title.to_string(), width, height, shapes }
}

/// Counts over days or months as vertical bars, the axis from zero to the largest.
pub fn volume_chart(title: &str, labels: &[String], values: &[i64]) -> Chart {
    let (width, height) = (480.0_f32, 200.0_f32);
    let (left, right, top, bottom) = (52.0_f32, 8.0_f32, 12.0_f32, 30.0_f32);
    let (pw, ph) = (width - left - right, height - top - bottom);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f32;
    let mut shapes = Vec::new();
    for k in 0..=4 {
        let y = top + ph * (1.0 - k as f32 / 4.0);
        shapes.push(Shape::Line { points: vec![(left, y), (left + pw, y)], color: GRID, width: 0.6 });
        shapes.push(text(left - 4.0, y + 3.0, 8.0, Anchor::End, format!("{:.0}", max * k as f32 / 4.0)));
    }
    let n = values.len().max(1) as f32;
    let slot = pw / n;
    for (i, v) in values.iter().enumerate() {
        let h = ph * (*v as f32 / max);
        shapes.push(Shape::Rect {
            x: left + slot * i as f32 + slot * 0.15,
            y: top + ph - h,
            w: slot * 0.7,
            h,
            color: PALETTE[0],
        });
    }
    // About eight labels whatever the number of bars.
    let every = labels.len().div_ceil(8).max(1);
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        shapes.push(text(left + slot * (i as f32 + 0.5), top + ph + 14.0, 8.0, Anchor::Middle, l.clone()));
    }
    shapes.push(Shape::Line { points: vec![(left, top), (left, top + ph), (left + pw, top + ph)], color: AXIS, width: 0.8 });
    Chart { title: title.to_string(), width, height, shapes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_break_lines_and_values_map_into_the_plot() {
        let labels: Vec<String> = ["5月", "6月", "7月"].iter().map(|s| s.to_string()).collect();
        let c = line_chart("t", &labels, &[Series { name: "接收率", values: vec![Some(1.0), None, Some(0.5)] }], 0.0);
        let lines = c.shapes.iter().filter(|s| matches!(s, Shape::Line { color, .. } if *color == PALETTE[0])).count();
        let dots = c.shapes.iter().filter(|s| matches!(s, Shape::Dot { .. })).count();
        assert_eq!((lines, dots), (0, 2), "a lone point between gaps draws a dot, not a line");
        for s in &c.shapes {
            if let Shape::Dot { x, y, .. } = s {
                assert!((0.0..=c.width).contains(x) && (0.0..=c.height).contains(y));
            }
        }
        let b = bar_chart("t", &[("广州市".into(), Some(100.0)), ("深圳市".into(), None)]);
        assert!(b.shapes.iter().any(|s| matches!(s, Shape::Text { text, .. } if text == "无数据")));
        let widest =
            b.shapes.iter().filter_map(|s| if let Shape::Rect { w, .. } = s { Some(*w) } else { None }).fold(0.0, f32::max);
        assert!((widest - (480.0 - 64.0 - 40.0)).abs() < 0.01);
    }
}
