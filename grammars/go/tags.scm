; Go definitions and references. Derived from tree-sitter-go's queries/tags.scm (MIT), extended with
; kinds for struct/interface types, interface methods, top-level const/var and type aliases.
; Patterns that come first win when two match the same name.
;
; A lone `type`/`const`/`var` declaration is captured whole (so its doc comment, which sits above the
; keyword, is attached and the signature starts with the keyword); in a grouped declaration
; (`const ( ... )`) each spec is its own definition and the grouped patterns come first.

(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  name: (field_identifier) @name) @definition.method

; Methods listed in an interface type.
(interface_type
  (method_elem name: (field_identifier) @name) @definition.method)

; type ( A struct{...}; B interface{...}; C int )
(type_declaration "("
  (type_spec name: (type_identifier) @name type: (struct_type)) @definition.class)

(type_declaration "("
  (type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface)

(type_declaration "("
  [
    (type_spec name: (type_identifier) @name)
    (type_alias name: (type_identifier) @name)
  ] @definition.type)

; type A struct{...}, type B interface{...}, type C int, type D = E
(type_declaration
  (type_spec name: (type_identifier) @name type: (struct_type))) @definition.class

(type_declaration
  (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface

(type_declaration
  [
    (type_spec name: (type_identifier) @name)
    (type_alias name: (type_identifier) @name)
  ]) @definition.type

; Package-level constants and variables (not locals).
(source_file
  (const_declaration "("
    (const_spec name: (identifier) @name) @definition.constant))

(source_file
  (const_declaration
    (const_spec name: (identifier) @name)) @definition.constant)

(source_file
  (var_declaration
    (var_spec_list
      (var_spec name: (identifier) @name) @definition.variable)))

(source_file
  (var_declaration
    (var_spec name: (identifier) @name)) @definition.variable)

; f(), pkg.F(), x.Method(), (f)(), generic f[T]()
(call_expression
  function: [
    (identifier) @name
    (parenthesized_expression (identifier) @name)
    (selector_expression field: (field_identifier) @name)
    (parenthesized_expression (selector_expression field: (field_identifier) @name))
  ]) @reference.call

((type_identifier) @name @reference.type)
