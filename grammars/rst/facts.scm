; reStructuredText (tree-sitter-rst 0.2.0): titles are sections. The grammar gives each title a flat
; `section` node (its overline, title and underline) and no nesting, so the level (from the adornment
; style, in order of first appearance), the span (to the next title of the same or a higher level),
; the signature (the title line) and the doc (the first paragraph after the title) are worked out in
; extract.rs (`rst_sections`, `first_paragraph`).
(section (title) @name) @definition.section

; Inline markup the grammar parses (`@inline`, see `scan_rst` in extract.rs): ``literals`` naming
; identifiers are references and those naming files imports; code roles (:func:`pkg.mod.name`,
; :class:, :meth:, …) are references to their last dotted segment; :doc: and :download: targets and
; relative `links <path>`_ are imports.
(literal) @inline
(interpreted_text) @inline
(reference) @inline

; A directive's body is not parsed by the grammar: `scan_rst` reads it — a toctree's entries are
; imports, a `.. todo::` is a todo, and the prose of other directives (notes, `.. function::` bodies)
; is scanned for literals and roles; code blocks are not prose.
(directive) @inline

(directive
  name: (type) @_type
  body: (body (arguments) @import.path)
  (#any-of? @_type "include" "literalinclude")) @import

(comment) @comment
