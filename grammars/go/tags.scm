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
; A spec that declares several names (`var hits, misses int`) gives each name its own definition
; node, the identifier itself: definitions sharing one span would nest in each other.
; const_spec's names are matched without the `name:` field: the grammar puts that field on the `,`
; between names too, and `name: (identifier)` then only finds the first name.
(source_file
  [
    (const_declaration
      (const_spec (identifier) @name @definition.constant (identifier)))
    (const_declaration
      (const_spec (identifier) (identifier) @name @definition.constant))
    (var_declaration
      (var_spec name: (identifier) @name @definition.variable name: (identifier)))
    (var_declaration
      (var_spec name: (identifier) name: (identifier) @name @definition.variable))
    (var_declaration
      (var_spec_list
        (var_spec name: (identifier) @name @definition.variable name: (identifier))))
    (var_declaration
      (var_spec_list
        (var_spec name: (identifier) name: (identifier) @name @definition.variable)))
  ])

(source_file
  (const_declaration "("
    (const_spec (identifier) @name) @definition.constant))

(source_file
  (const_declaration
    (const_spec (identifier) @name)) @definition.constant)

(source_file
  (var_declaration
    (var_spec_list
      (var_spec name: (identifier) @name) @definition.variable)))

(source_file
  (var_declaration
    (var_spec name: (identifier) @name)) @definition.variable)

; f(), pkg.F(), x.Method(), (f)(). (`f[int](x)` parses as a conversion to a generic type: a type use.)
(call_expression
  function: [
    (identifier) @name
    (parenthesized_expression (identifier) @name)
    (selector_expression field: (field_identifier) @name)
    (parenthesized_expression (selector_expression field: (field_identifier) @name))
  ]) @reference.call

; Type uses, except the predeclared types (they have no definition to find).
((type_identifier) @name @reference.type
  (#not-any-of? @name
    "any" "bool" "byte" "comparable" "complex64" "complex128" "error" "float32" "float64" "int" "int8"
    "int16" "int32" "int64" "rune" "string" "uint" "uint8" "uint16" "uint32" "uint64" "uintptr"))
