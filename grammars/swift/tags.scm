; Swift definitions and references, from tree-sitter-swift 0.7.4's queries/tags.scm (MIT), rewritten so
; that each `@definition` is the declaration itself (upstream captures the enclosing class for its
; methods), with structs, enums, extensions, typealiases and top-level constants told apart, and
; references added (upstream has none).

((class_declaration "enum" name: (type_identifier) @name) @definition.enum)
((class_declaration "struct" name: (type_identifier) @name) @definition.struct)
((class_declaration "extension" name: (user_type (type_identifier) @name)) @definition.class)
(class_declaration
  name: (type_identifier) @name) @definition.class

(protocol_declaration
  name: (type_identifier) @name) @definition.interface

(class_body (function_declaration name: (simple_identifier) @name) @definition.method)
(class_body (init_declaration "init" @name) @definition.method)
(class_body (deinit_declaration "deinit" @name) @definition.method)
(protocol_body (protocol_function_declaration name: (simple_identifier) @name) @definition.method)

(function_declaration
  name: (simple_identifier) @name) @definition.function

(typealias_declaration
  name: (type_identifier) @name) @definition.type

(source_file
  (property_declaration
    (value_binding_pattern) @_let
    name: (pattern (simple_identifier) @name)) @definition.constant
  (#eq? @_let "let"))

(inheritance_specifier inherits_from: (user_type (type_identifier) @name)) @reference.implementation

(user_type (type_identifier) @name) @reference.type

(call_expression
  (simple_identifier) @name) @reference.call

(call_expression
  (navigation_expression
    suffix: (navigation_suffix suffix: (simple_identifier) @name))) @reference.call
