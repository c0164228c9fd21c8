//! The CJK font the PDF embeds (a subset of it). Fonts come from the operating system
//! (Debian's `fonts-wqy-microhei` or `fonts-noto-cjk`), never from the repository.

use std::path::{Path, PathBuf};

/// Where Debian's CJK fonts are, in order of preference: WenQuanYi Micro Hei has TrueType
/// outlines and subsets small; Noto Sans CJK is CFF.
pub const KNOWN_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
];

/// The environment variable naming a font file.
pub const FONT_ENV: &str = "TONGDANG_REPORT_FONT";

/// Why no font could be used.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// None was named and none of the known paths exists.
    #[error(
        "no CJK font for the PDF report: install one (apt-get install fonts-wqy-microhei) or name a .ttf/.ttc/.otf file with --font or TONGDANG_REPORT_FONT"
    )]
    NotFound,
    /// The file could not be read.
    #[error("cannot read font {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a usable font.
    #[error("{path} is not a font with Chinese glyphs")]
    Unusable {
        /// The file.
        path: PathBuf,
    },
}

/// A font file held in memory.
pub struct Font {
    data: Vec<u8>,
    path: PathBuf,
    /// The face used: in a Noto CJK collection the Simplified Chinese one (face 0 is Japanese).
    index: u32,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font").field("path", &self.path).field("bytes", &self.data.len()).finish()
    }
}

impl Font {
    /// Load a font file (the first face of a collection) and check it has Chinese glyphs.
    pub fn load(path: &Path) -> Result<Font, FontError> {
        let data = std::fs::read(path).map_err(|source| FontError::Read { path: path.to_path_buf(), source })?;
        let index = simplified_chinese_face(&data);
        let font = Font { data, path: path.to_path_buf(), index };
        match font.face() {
            Some(face) if face.glyph_index('健').is_some() && face.glyph_index('A').is_some() => Ok(font),
            _ => Err(FontError::Unusable { path: path.to_path_buf() }),
        }
    }

    /// The named font, else `TONGDANG_REPORT_FONT`, else the first of [`KNOWN_FONTS`] present.
    pub fn find(named: Option<&Path>) -> Result<Font, FontError> {
        if let Some(p) = named {
            return Font::load(p);
        }
        if let Some(p) = std::env::var_os(FONT_ENV).filter(|p| !p.is_empty()) {
            return Font::load(Path::new(&p));
        }
        KNOWN_FONTS.iter().map(Path::new).find(|p| p.is_file()).ok_or(FontError::NotFound).and_then(Font::load)
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The index of the face used within the file.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The parsed face.
    pub fn face(&self) -> Option<ttf_parser::Face<'_>> {
        ttf_parser::Face::parse(&self.data, self.index).ok()
    }
}

/// The face of a collection whose family is named for Simplified Chinese (`… SC`), else 0.
fn simplified_chinese_face(data: &[u8]) -> u32 {
    let count = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    (0..count)
        .find(|i| {
            ttf_parser::Face::parse(data, *i).is_ok_and(|f| {
                f.names()
                    .into_iter()
                    .filter(|n| n.name_id == ttf_parser::name_id::FAMILY)
                    .filter_map(|n| n.to_string())
                    .any(|n| n.ends_with(" SC"))
            })
        })
        .unwrap_or(0)
}
