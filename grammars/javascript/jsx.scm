; JSX component uses, added to the JavaScript and TSX queries (not TypeScript's, whose grammar has no
; JSX nodes). `<Card>` and `<Card />` are references to the component Card; lowercase names are
; intrinsic elements (`<div>`), not references. `<Profile.Details />` refers to Details. The closing
; tag is not matched, so `<Card>...</Card>` is one reference.

((jsx_opening_element
  name: (identifier) @name) @reference.call
  (#match? @name "^[A-Z]"))

((jsx_self_closing_element
  name: (identifier) @name) @reference.call
  (#match? @name "^[A-Z]"))

(jsx_opening_element
  name: (member_expression property: (property_identifier) @name)) @reference.call

(jsx_self_closing_element
  name: (member_expression property: (property_identifier) @name)) @reference.call
