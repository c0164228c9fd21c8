//! The report as an A4 PDF in Chinese, written with `pdf-writer`: the text in an embedded subset
//! of a CJK font (a CID font, glyphs addressed by their subset ids, with a ToUnicode map so the
//! text can be searched and copied), the charts drawn as vector paths, the content compressed.

use crate::chart::{Anchor, Chart, Rgb, Shape};
use crate::charts;
use crate::font::Font;
use crate::html::{num, pct};
use crate::model::{Report, ScoreRow};
use crate::score::{FORMULA, grade};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use std::collections::BTreeMap;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const FONT: Name<'static> = Name(b"F1");
const BLACK: Rgb = (30, 30, 30);
const GREY: Rgb = (90, 90, 90);
const RULE: Rgb = (200, 200, 200);
const HEAD: Rgb = (238, 243, 250);

/// Why the PDF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The font could not be parsed or subset.
    #[error("font {0} could not be embedded")]
    Font(String),
}

/// A table column: header, width, right-aligned.
type Column = (&'static str, f32, bool);

struct Writer<'f> {
    face: ttf_parser::Face<'f>,
    remap: subsetter::GlyphRemapper,
    /// Old glyph id of each subset id.
    old_of_new: Vec<u16>,
    /// The text each subset glyph stands for.
    unicode: BTreeMap<u16, char>,
    pages: Vec<Vec<u8>>,
    page: Content,
    /// Distance from the top of the page to the next line.
    y: f32,
}

impl<'f> Writer<'f> {
    fn new(face: ttf_parser::Face<'f>) -> Writer<'f> {
        Writer {
            face,
            remap: subsetter::GlyphRemapper::new(),
            old_of_new: vec![0],
            unicode: BTreeMap::new(),
            pages: Vec::new(),
            page: Content::new(),
            y: MARGIN,
        }
    }

    fn upem(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Width of `s` at `size`, points.
    fn width(&self, s: &str, size: f32) -> f32 {
        let units: u32 =
            s.chars().map(|c| u32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(self.glyph(c))).unwrap_or(0))).sum();
        units as f32 * size / self.upem()
    }

    /// `s` cut to fit `width`, with an ellipsis when cut.
    fn fit(&self, s: &str, size: f32, width: f32) -> String {
        if self.width(s, size) <= width {
            return s.to_string();
        }
        let mut out = String::new();
        for c in s.chars() {
            let mut next = out.clone();
            next.push(c);
            next.push('…');
            if self.width(&next, size) > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }

    fn encode(&mut self, s: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let old = self.glyph(c);
            let new = self.remap.remap(old);
            if usize::from(new) == self.old_of_new.len() {
                self.old_of_new.push(old);
            }
            if old != 0 {
                self.unicode.entry(new).or_insert(c);
            }
            bytes.extend_from_slice(&new.to_be_bytes());
        }
        bytes
    }

    /// Text with its baseline at `y` from the top of the page.
    fn text_at(&mut self, x: f32, y: f32, size: f32, color: Rgb, anchor: Anchor, s: &str) {
        let x = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - self.width(s, size) / 2.0,
            Anchor::End => x - self.width(s, size),
        };
        let glyphs = self.encode(s);
        let (r, g, b) = rgb(color);
        self.page.set_fill_rgb(r, g, b);
        self.page.begin_text();
        self.page.set_font(FONT, size);
        self.page.next_line(x, PAGE_H - y);
        self.page.show(Str(&glyphs));
        self.page.end_text();
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let (r, g, b) = rgb(color);
        self.page.set_fill_rgb(r, g, b);
        self.page.rect(x, PAGE_H - y - h, w, h);
        self.page.fill_nonzero();
    }

    fn line(&mut self, points: &[(f32, f32)], color: Rgb, width: f32) {
        let Some((first, rest)) = points.split_first() else { return };
        let (r, g, b) = rgb(color);
        self.page.set_stroke_rgb(r, g, b);
        self.page.set_line_width(width);
        self.page.move_to(first.0, PAGE_H - first.1);
        for p in rest {
            self.page.line_to(p.0, PAGE_H - p.1);
        }
        self.page.stroke();
    }

    fn new_page(&mut self) {
        let n = self.pages.len() + 1;
        self.text_at(PAGE_W / 2.0, PAGE_H - 20.0, 8.0, GREY, Anchor::Middle, &format!("第 {n} 页"));
        let page = std::mem::replace(&mut self.page, Content::new());
        self.pages.push(page.finish().to_vec());
        self.y = MARGIN;
    }

    /// Make room for `h` points, starting a page when there is not.
    fn room(&mut self, h: f32) {
        if self.y + h > PAGE_H - MARGIN {
            self.new_page();
        }
    }

    /// A paragraph wrapped to the text width (Chinese breaks between any two characters).
    fn paragraph(&mut self, s: &str, size: f32, color: Rgb) {
        let width = PAGE_W - 2.0 * MARGIN;
        let mut line = String::new();
        for c in s.chars() {
            line.push(c);
            if self.width(&line, size) > width {
                line.pop();
                self.room(size * 1.6);
                self.y += size * 1.4;
                let y = self.y;
                self.text_at(MARGIN, y, size, color, Anchor::Start, &line);
                line = c.to_string();
            }
        }
        if !line.is_empty() {
            self.room(size * 1.6);
            self.y += size * 1.4;
            let y = self.y;
            self.text_at(MARGIN, y, size, color, Anchor::Start, &line);
        }
        self.y += size * 0.5;
    }

    fn heading(&mut self, s: &str) {
        self.room(40.0);
        self.y += 22.0;
        let y = self.y;
        self.text_at(MARGIN, y, 13.0, (31, 94, 168), Anchor::Start, s);
        self.line(&[(MARGIN, y + 4.0), (PAGE_W - MARGIN, y + 4.0)], (31, 94, 168), 1.0);
        self.y += 8.0;
    }

    fn chart(&mut self, chart: &Chart) {
        self.room(chart.height + 18.0);
        self.y += 12.0;
        let y = self.y;
        self.text_at(MARGIN, y, 10.0, BLACK, Anchor::Start, &chart.title);
        let (ox, oy) = (MARGIN, self.y + 4.0);
        for shape in &chart.shapes {
            match shape {
                Shape::Line { points, color, width } => {
                    let pts: Vec<(f32, f32)> = points.iter().map(|(x, y)| (ox + x, oy + y)).collect();
                    self.line(&pts, *color, *width);
                }
                Shape::Rect { x, y, w, h, color } => self.fill_rect(ox + x, oy + y, *w, *h, *color),
                Shape::Dot { x, y, r, color } => self.fill_rect(ox + x - r, oy + y - r, 2.0 * r, 2.0 * r, *color),
                Shape::Text { x, y, size, anchor, color, text } => self.text_at(ox + x, oy + y, *size, *color, *anchor, text),
            }
        }
        self.y = oy + chart.height;
    }

    fn table_header(&mut self, columns: &[Column], size: f32) {
        let row = size * 2.0;
        self.room(row * 2.0);
        let y = self.y;
        let total: f32 = columns.iter().map(|c| c.1).sum();
        self.fill_rect(MARGIN, y, total, row, HEAD);
        self.row(columns, &columns.iter().map(|c| c.0.to_string()).collect::<Vec<_>>(), size);
    }

    fn row(&mut self, columns: &[Column], cells: &[String], size: f32) {
        let row = size * 2.0;
        let mut x = MARGIN;
        let base = self.y + row * 0.68;
        for ((_, w, right), cell) in columns.iter().zip(cells) {
            let s = self.fit(cell, size, w - 4.0);
            if *right {
                self.text_at(x + w - 2.0, base, size, BLACK, Anchor::End, &s);
            } else {
                self.text_at(x + 2.0, base, size, BLACK, Anchor::Start, &s);
            }
            x += w;
        }
        self.y += row;
        self.line(&[(MARGIN, self.y), (x, self.y)], RULE, 0.4);
    }

    /// A table that repeats its header on every page.
    fn table(&mut self, columns: &[Column], rows: &[Vec<String>], size: f32) {
        self.table_header(columns, size);
        for cells in rows {
            if self.y + size * 2.0 > PAGE_H - MARGIN {
                self.new_page();
                self.table_header(columns, size);
            }
            self.row(columns, cells, size);
        }
        self.y += 4.0;
    }
}

fn rgb((r, g, b): Rgb) -> (f32, f32, f32) {
    (f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0)
}

fn score_rows(rows: &[ScoreRow], with_city: bool) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let q = r.quality.as_ref();
            let mut cells = vec![r.rank.map_or_else(|| "—".into(), |n| n.to_string()), r.name.clone()];
            if with_city {
                cells.push(r.city.clone());
            }
            cells.extend([
                r.received.to_string(),
                pct(q.map(|q| q.acceptance)),
                pct(q.map(|q| q.timeliness)),
                num(q.map(|q| q.score)),
                r.orders_opened.to_string(),
                pct(r.handling.overdue_share),
                format!("{:.1}", r.handling.score),
                num(r.total),
                r.total.map_or("无上报", grade).to_string(),
            ]);
            cells
        })
        .collect()
}

fn score_columns(with_city: bool) -> Vec<Column> {
    let mut c: Vec<Column> = vec![("排名", 26.0, true), ("名称", if with_city { 118.0 } else { 162.0 }, false)];
    if with_city {
        c.push(("城市", 44.0, false));
    }
    c.extend([
        ("上报", 48.0, true),
        ("接收率", 40.0, true),
        ("及时性", 40.0, true),
        ("质量分", 36.0, true),
        ("工单", 30.0, true),
        ("超期率", 40.0, true),
        ("效率分", 36.0, true),
        ("综合分", 36.0, true),
        ("等级", 30.0, false),
    ]);
    c
}

/// Render the report with `font`.
pub fn render(r: &Report, font: &Font) -> Result<Vec<u8>, PdfError> {
    let face = font.face().ok_or_else(|| PdfError::Font(font.path().display().to_string()))?;
    let mut w = Writer::new(face);

    let title = format!("{}健康档案数据质量与问题处置评估报告", r.scope_zh);
    w.y += 24.0;
    let y = w.y;
    w.text_at(MARGIN, y, 17.0, BLACK, Anchor::Start, &title);
    w.y += 8.0;
    w.paragraph(&format!("统计周期：{}（按接收日，北京时间）　生成时间：{}", r.period_zh, r.generated_at), 9.0, GREY);
    if r.is_empty() {
        w.paragraph("本期没有上报数据，也没有工单。以下各表为空，这是一份有效的空报告。", 10.0, (138, 75, 0));
    }

    let t = &r.totals;
    w.heading("一、总体情况");
    let cards = [
        ("综合得分", num(t.total)),
        ("上传质量得分", num(t.quality)),
        ("处置效率得分", format!("{:.1}", t.handling)),
        ("上报条数", t.received.to_string()),
        ("接收条数", t.accepted.to_string()),
        ("退回条数", t.returned.to_string()),
        ("有上报的机构", format!("{} / {}", t.reporting_institutions, t.institutions)),
        ("新增工单", t.orders_opened.to_string()),
        ("办结工单", t.orders_resolved.to_string()),
    ];
    for chunk in cards.chunks(3) {
        w.room(40.0);
        let y = w.y + 6.0;
        for (i, (label, value)) in chunk.iter().enumerate() {
            let x = MARGIN + i as f32 * 172.0;
            w.fill_rect(x, y, 164.0, 34.0, HEAD);
            w.text_at(x + 8.0, y + 13.0, 8.5, GREY, Anchor::Start, label);
            w.text_at(x + 8.0, y + 29.0, 13.0, BLACK, Anchor::Start, value);
        }
        w.y = y + 38.0;
    }

    w.heading("二、趋势与分布");
    for chart in charts::of(r) {
        w.chart(&chart);
    }
    if r.cities.len() > 1 {
        w.heading("三、地市排名");
        w.table(&score_columns(false), &score_rows(&r.cities, false), 8.0);
    }
    w.heading("四、机构排名");
    let with_city = r.cities.len() > 1;
    w.table(&score_columns(with_city), &score_rows(&r.institutions, with_city), 7.5);

    w.heading("五、主要问题（按数据来源）");
    if r.problems.is_empty() {
        w.paragraph("本期没有被退回的数据。", 9.5, BLACK);
    } else {
        let mut rows = Vec::new();
        for p in &r.problems {
            for (i, (id, d, n)) in p.rules.iter().enumerate() {
                let source = if i == 0 { p.name.clone() } else { String::new() };
                let returns = if i == 0 { p.returns.to_string() } else { String::new() };
                rows.push(vec![
                    source,
                    returns,
                    id.clone(),
                    if d.is_empty() { "（规则已停用）".into() } else { d.clone() },
                    n.to_string(),
                ]);
            }
        }
        let cols: [Column; 5] = [
            ("数据来源", 130.0, false),
            ("退回", 40.0, true),
            ("规则", 62.0, false),
            ("说明", 243.0, false),
            ("条数", 40.0, true),
        ];
        w.table(&cols, &rows, 7.5);
    }

    w.heading("六、评分方法");
    for (i, line) in FORMULA.iter().enumerate() {
        w.paragraph(&format!("{}. {line}", i + 1), 9.0, BLACK);
    }
    w.new_page();
    finish(w, font)
}

fn finish(w: Writer<'_>, font: &Font) -> Result<Vec<u8>, PdfError> {
    let bad_font = || PdfError::Font(font.path().display().to_string());
    let subset = subsetter::subset(font.data(), font.index(), &w.remap).map_err(|_| bad_font())?;
    let face = &w.face;
    let scale = 1000.0 / f32::from(face.units_per_em());
    let cff = face.tables().cff.is_some();

    let mut next = 1;
    let mut alloc = || {
        next += 1;
        Ref::new(next - 1)
    };
    let (catalog, tree, type0, cid, descriptor, cmap, file) = (alloc(), alloc(), alloc(), alloc(), alloc(), alloc(), alloc());
    let page_refs: Vec<(Ref, Ref)> = w.pages.iter().map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_refs.iter().map(|p| p.0)).count(page_refs.len() as i32);
    for ((page, content), body) in page_refs.iter().zip(&w.pages) {
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content);
        p.resources().fonts().pair(FONT, type0);
        p.finish();
        pdf.stream(*content, &miniz_oxide::deflate::compress_to_vec_zlib(body, 6)).filter(Filter::FlateDecode);
    }

    let base = Name(b"TDSUBS+CJK");
    pdf.type0_font(type0).base_font(base).encoding_predefined(Name(b"Identity-H")).descendant_font(cid).to_unicode(cmap);
    let info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    let mut c = pdf.cid_font(cid);
    c.subtype(if cff { CidFontType::Type0 } else { CidFontType::Type2 });
    c.base_font(base).system_info(info).font_descriptor(descriptor).default_width(1000.0);
    if !cff {
        c.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    let widths: Vec<f32> = w
        .old_of_new
        .iter()
        .map(|old| f32::from(face.glyph_hor_advance(ttf_parser::GlyphId(*old)).unwrap_or(0)) * scale)
        .collect();
    c.widths().consecutive(0, widths);
    c.finish();

    let bbox = face.global_bounding_box();
    let mut d = pdf.font_descriptor(descriptor);
    d.name(base)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(face.ascender()) * scale)
        .descent(f32::from(face.descender()) * scale)
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
        .stem_v(80.0);
    if cff {
        d.font_file3(file);
    } else {
        d.font_file2(file);
    }
    d.finish();

    let mut unicode = UnicodeCmap::new(Name(b"Custom"), info);
    for (gid, c) in &w.unicode {
        unicode.pair(*gid, *c);
    }
    pdf.cmap(cmap, &unicode.finish());
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, 6);
    let mut stream = pdf.stream(file, &packed);
    stream.filter(Filter::FlateDecode);
    if cff {
        stream.pair(Name(b"Subtype"), Name(b"OpenType"));
    }
    stream.finish();
    Ok(pdf.finish())
}
