//! Charts as inline SVG for the HTML report.

use crate::chart::{Anchor, Chart, Rgb, Shape};
use crate::html::escape;
use std::fmt::Write;

fn rgb((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The chart as an `<svg>` element, labelled by its title.
pub fn render(chart: &Chart) -> String {
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}" font-family="sans-serif">"#,
        escape(&chart.title),
        chart.width,
        chart.height,
        chart.width,
        chart.height
    );
    for shape in &chart.shapes {
        match shape {
            Shape::Line { points, color, width } => {
                let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    s,
                    r#"<polyline fill="none" stroke="{}" stroke-width="{width}" points="{}"/>"#,
                    rgb(*color),
                    pts.join(" ")
                );
            }
            Shape::Rect { x, y, w, h, color } => {
                let _ = write!(s, r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#, rgb(*color));
            }
            Shape::Dot { x, y, r, color } => {
                let _ = write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{}"/>"#, rgb(*color));
            }
            Shape::Text { x, y, size, anchor, color, text } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = write!(
                    s,
                    r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" fill="{}">{}</text>"#,
                    rgb(*color),
                    escape(text)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}
