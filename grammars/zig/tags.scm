; Zig definitions and references. tree-sitter-zig 1.1.2 ships no tags.scm; these follow the other
; languages' shape: containers are `const Name = struct/enum/union {…}`, functions inside a container
; are methods, other top-level and container-level `const`s are constants (imports excepted).

(variable_declaration (identifier) @name (struct_declaration)) @definition.struct
(variable_declaration (identifier) @name (opaque_declaration)) @definition.struct
(variable_declaration (identifier) @name (enum_declaration)) @definition.enum
(variable_declaration (identifier) @name (union_declaration)) @definition.type
(variable_declaration (identifier) @name (error_set_declaration)) @definition.type

(struct_declaration (function_declaration name: (identifier) @name) @definition.method)
(enum_declaration (function_declaration name: (identifier) @name) @definition.method)
(union_declaration (function_declaration name: (identifier) @name) @definition.method)

(function_declaration name: (identifier) @name) @definition.function

(source_file
  (variable_declaration (identifier) @name . [(builtin_type) (identifier) (integer) (float) (string) (field_expression) (call_expression)]) @definition.constant)
(struct_declaration
  (variable_declaration (identifier) @name . [(builtin_type) (identifier) (integer) (float) (string) (field_expression) (call_expression)]) @definition.constant)
(source_file
  (variable_declaration (identifier) @name type: (_) [(integer) (float) (string) (identifier) (call_expression)]) @definition.constant)

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression member: (identifier) @name)) @reference.call
(struct_initializer (identifier) @name) @reference.type
(parameter type: (identifier) @name) @reference.type
(pointer_type (identifier) @name) @reference.type
(error_union_type ok: (identifier) @name) @reference.type
(function_declaration type: (identifier) @name) @reference.type
