; OCaml definitions and references, from tree-sitter-ocaml 0.26.0's queries/tags.scm (MIT), with the
; doc captures and `#strip!` left out (docs are attached in code), modules and types captured on the
; whole `module …`/`type …` definition (so the signature is its first line), top-level values without
; parameters as constants, and the upstream's field, variant and operator captures left out (reverie
; has no such kinds).

(module_definition
  (module_binding (module_name) @name)) @definition.module

(module_type_definition (module_type_name) @name) @definition.interface

(module_path (module_name) @name) @reference.name
(extended_module_path (module_name) @name) @reference.name

(module_type_path (module_type_name) @name) @reference.implementation

(class_definition
  (class_binding (class_name) @name) @definition.class)
(class_type_definition
  (class_type_binding (class_type_name) @name) @definition.class)

[
  (class_path (class_name) @name)
  (class_type_path (class_type_name) @name)
] @reference.class

(method_definition (method_name) @name) @definition.method

(method_invocation (method_name) @name) @reference.call

(type_definition
  (type_binding
    name: [
      (type_constructor) @name
      (type_constructor_path (type_constructor) @name)
    ])) @definition.type

(exception_definition
  (constructor_declaration (constructor_name) @name)) @definition.type

(type_constructor_path (type_constructor) @name) @reference.type

(value_definition
  [
    (let_binding pattern: (value_name) @name (parameter))
    (let_binding
      pattern: (value_name) @name
      body: [(fun_expression) (function_expression)]
    )
  ] @definition.function)

(external (value_name) @name) @definition.function

(compilation_unit (value_definition (let_binding pattern: (value_name) @name)) @definition.constant)
(structure (value_definition (let_binding pattern: (value_name) @name)) @definition.constant)

(application_expression
  function: (value_path (value_name) @name)) @reference.call

(infix_expression
  operator: (rel_operator) @_pipe
  right: (value_path (value_name) @name)
  (#eq? @_pipe "|>")) @reference.call

(constructor_path (constructor_name) @name) @reference.call
