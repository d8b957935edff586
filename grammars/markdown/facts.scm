; Markdown (tree-sitter-md 0.5.4, the block grammar): headings are sections — the heading is the
; section's signature, its first paragraph its doc, and its span runs to the next heading of the same
; or a higher level (tree-sitter-md nests `section` nodes that way); prose is scanned for code spans
; and links (`@inline`, see `scan_inline` in extract.rs). Code blocks are not prose.

(section
  (atx_heading heading_content: (inline) @name) @signature) @definition.section

; A setext heading (text underlined with === or ---) does not open a `section` in tree-sitter-md:
; the heading alone is the definition.
(setext_heading heading_content: (paragraph (inline) @name)) @definition.section

(paragraph (inline) @inline)
(pipe_table_cell) @inline
(list_item (paragraph (inline) @inline))
