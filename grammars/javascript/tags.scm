; JavaScript definitions and references, also the base of TypeScript and TSX: every node type used here
; exists in tree-sitter-javascript and in both tree-sitter-typescript grammars (JSX-only patterns are in
; jsx.scm, TypeScript-only ones in ../typescript/tags.scm). Derived from tree-sitter-javascript's
; queries/tags.scm (MIT) without the tags-only predicates, extended with class fields holding
; functions, module-level variables, `extends`, `new`, decorators and imported/exported names.
; Patterns that come first win when two match the same name: a variable holding a function or class is
; a function or class, not a constant, because those patterns come before the variable patterns.

; --- definitions -------------------------------------------------------------------------------

; Methods of classes and object literals, getters, setters and the constructor.
(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

(class
  name: (_) @name) @definition.class

(class_declaration
  name: (_) @name) @definition.class

; Functions, and named function expressions (`function visit() {...}` passed as a callback), which are
; defined under their own name. Where a named function expression is assigned, the patterns below also
; define it under the assigned name, unless the two names are the same.
[
  (function_declaration name: (identifier) @name)
  (generator_function_declaration name: (identifier) @name)
  (function_expression name: (identifier) @name)
  (generator_function name: (identifier) @name)
] @definition.function

; Class fields holding a function: `onClick = () => {...}`, `#handle = function () {...}`.
; The field is `field_definition` (property:) in JavaScript and `public_field_definition` (name:) in
; TypeScript, so the field node is matched by the `value` field the two share.
(class_body
  (_
    [(property_identifier) (private_property_identifier)] @name
    value: [(arrow_function) (function_expression !name) (generator_function !name)]) @definition.method)

((class_body
  (_
    [(property_identifier) (private_property_identifier)] @name
    value: [
      (function_expression name: (identifier) @_inner)
      (generator_function name: (identifier) @_inner)
    ]) @definition.method)
  (#not-eq? @name @_inner))

; const f = () => {...}, let g = function () {...}, var h = function* () {...}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression !name) (generator_function !name)]) @definition.function

((variable_declarator
  name: (identifier) @name
  value: [
    (function_expression name: (identifier) @_inner)
    (generator_function name: (identifier) @_inner)
  ]) @definition.function
  (#not-eq? @name @_inner))

; const Store = class {...}, const Store = class MemoryStore {...}
(variable_declarator
  name: (identifier) @name
  value: (class !name)) @definition.class

((variable_declarator
  name: (identifier) @name
  value: (class name: (_) @_inner)) @definition.class
  (#not-eq? @name @_inner))

; exports.load = function (...) {...}, exports.handler = async (event) => {...},
; Foo.prototype.bar = function () {...}. The function is the definition: it has the `body`.
; `module.exports = function () {...}` defines nothing called "exports".
((assignment_expression
  left: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]
  right: [(arrow_function) (function_expression !name) (generator_function !name)] @definition.function)
  (#not-eq? @name "exports"))

((assignment_expression
  left: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]
  right: [
    (function_expression name: (identifier) @_inner)
    (generator_function name: (identifier) @_inner)
  ] @definition.function)
  (#not-eq? @name "exports")
  (#not-eq? @name @_inner))

; { load: async (id) => {...}, "save-all": function () {...} }
(pair
  key: [(property_identifier) @name (string (string_fragment) @name)]
  value: [(arrow_function) (function_expression !name) (generator_function !name)]) @definition.function

((pair
  key: [(property_identifier) @name (string (string_fragment) @name)]
  value: [
    (function_expression name: (identifier) @_inner)
    (generator_function name: (identifier) @_inner)
  ]) @definition.function
  (#not-eq? @name @_inner))

; Exported and module-level variables: export const MAX = 3, let current = null. Not `const x =
; require("x")` (an import), and not a function or class whose own name is the variable's (`const
; same = function same() {}`), which the patterns above define.
((export_statement
  declaration: [
    (lexical_declaration (variable_declarator name: (identifier) @name value: (_)? @_value) @definition.constant)
    (variable_declaration (variable_declarator name: (identifier) @name value: (_)? @_value) @definition.constant)
  ])
  (#not-match? @_value "^(require\\s*\\(|(async\\s+)?function\\b|class\\b)"))

((program
  [
    (lexical_declaration (variable_declarator name: (identifier) @name value: (_)? @_value) @definition.constant)
    (variable_declaration (variable_declarator name: (identifier) @name value: (_)? @_value) @definition.constant)
  ])
  (#not-match? @_value "^(require\\s*\\(|(async\\s+)?function\\b|class\\b)"))

; --- references --------------------------------------------------------------------------------

((call_expression
  function: (identifier) @name) @reference.call
  (#not-eq? @name "require"))

(call_expression
  function: (member_expression
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call

(new_expression
  constructor: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.type

; @Injectable, @observable (decorators that are calls, @Component({...}), are calls already)
(decorator
  [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.call

; `class A extends Base` in JavaScript, where `class_heritage` holds the expression itself. In
; TypeScript it holds an `extends_clause` (see ../typescript/tags.scm), whose text ("extends Base") the
; predicate rejects; a pattern naming `identifier` here would not compile against TypeScript.
((class_heritage
  .
  (_) @name @reference.type)
  (#match? @name "^[A-Za-z_$][A-Za-z0-9_$]*$"))

; `class A extends ns.Base` in JavaScript (a TypeScript `extends_clause` has no `property`)
(class_heritage
  .
  (_ property: (property_identifier) @name) @reference.type)

; import { a, b as c } from "x" (the imported name, `a` and `b`)
(import_specifier
  name: (identifier) @name) @reference.name

; export { a, b as c }, export { a } from "x"
(export_specifier
  name: (identifier) @name) @reference.name
