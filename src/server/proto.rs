//! LSP ⇄ core conversions: URIs to paths and keys, LSP positions and ranges to byte offsets.

use crate::convert::{Encoding, LineIndex, LinePosition};
use std::path::PathBuf;
use tower_lsp_server::ls_types::{Position, Range, Uri};

pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

pub fn uri_of(path: &std::path::Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

pub fn offset(text: &str, index: &LineIndex, position: Position, encoding: Encoding) -> usize {
    index.offset(text, LinePosition { line: position.line, character: position.character }, encoding)
}

pub fn range_offsets(text: &str, range: Range, encoding: Encoding) -> (usize, usize) {
    let index = LineIndex::new(text);
    let start = offset(text, &index, range.start, encoding);
    let end = offset(text, &index, range.end, encoding).max(start);
    (start, end)
}
