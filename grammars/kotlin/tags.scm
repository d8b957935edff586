; Kotlin definitions and references. tree-sitter-kotlin-ng 1.1.0 ships no tags.scm; these follow the
; Java queries' shape. `interface` and `enum class` are class_declarations told apart by their
; keyword or modifier; functions' bodies are `function_body` children (see `body_of` in extract.rs).

((class_declaration
  "interface"
  name: (identifier) @name) @definition.interface)

((class_declaration
  (modifiers (class_modifier) @_enum)
  name: (identifier) @name) @definition.enum
  (#eq? @_enum "enum"))

(class_declaration
  name: (identifier) @name) @definition.class

(object_declaration
  name: (identifier) @name) @definition.class

(class_body
  (function_declaration
    name: (identifier) @name) @definition.method)

(function_declaration
  name: (identifier) @name) @definition.function

(type_alias
  type: (identifier) @name) @definition.type

((property_declaration
  (modifiers (property_modifier) @_const)
  (variable_declaration (identifier) @name)) @definition.constant
  (#eq? @_const "const"))

(delegation_specifier (user_type (identifier) @name)) @reference.implementation
(delegation_specifier (constructor_invocation (user_type (identifier) @name))) @reference.implementation

(user_type (identifier) @name) @reference.type

(call_expression
  (identifier) @name) @reference.call

(call_expression
  (navigation_expression
    (identifier) @name .)) @reference.call
