//! Evaluation reports (评估报告): for a month and the province or one city, a score per city and
//! institution built from upload quality (the governance counters) and problem-handling
//! efficiency (work orders), ranked, with a trend and the worst problems per source; rendered
//! as HTML and PDF in Chinese with charts drawn here. The formula is in `score` and printed in
//! every report.

pub mod chart;
pub mod charts;
pub mod font;
pub mod gather;
pub mod html;
pub mod model;
pub mod pdf;
pub mod period;
pub mod rollout;
pub mod score;
pub mod svg;

pub use font::{Font, FontError};
pub use gather::{Rendered, ReportError, input, render, render_lenient};
pub use model::{Report, ReportInput, Scope};
pub use period::{BadPeriod, Period};
