; TypeScript-only definitions, references and imports, added to the JavaScript queries for TypeScript
; and TSX (so only node types both tree-sitter-typescript grammars have: no `type_assertion`, which TSX
; lacks). Derived from tree-sitter-typescript's queries/tags.scm (MIT), extended with type aliases,
; enums, namespaces, type references, `implements` and `import x = require("x")`.

; --- definitions -------------------------------------------------------------------------------

; Interface and object-type members: get(id: string): T; abstract members of abstract classes.
(method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

(abstract_method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

; Overload signatures and `declare function f(): T;`
(function_signature
  name: (identifier) @name) @definition.function

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

; namespace Api {...}, namespace Api.V2 {...}, module Legacy {...}, declare module "express" {...}
(internal_module
  name: [(identifier) (nested_identifier)] @name) @definition.module

(module
  name: [
    (identifier) @name
    (nested_identifier) @name
    (string (string_fragment) @name)
  ]) @definition.module

; declare const VERSION: string;
(program
  (ambient_declaration
    [
      (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
      (variable_declaration (variable_declarator name: (identifier) @name) @definition.constant)
    ]))

; --- references --------------------------------------------------------------------------------

; class A extends Base<T>, class A extends ns.Base
(extends_clause
  value: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.type

; class A implements Store<T>, ns.Closeable
(implements_clause
  [
    (type_identifier) @name
    (nested_type_identifier name: (type_identifier) @name)
    (generic_type name: [
      (type_identifier) @name
      (nested_type_identifier name: (type_identifier) @name)
    ])
  ]) @reference.implementation

; Type references. A bare type name counts where a type is written, not where one is declared (class,
; interface and alias names, type parameters `<T>`, `infer U`, mapped `[K in ...]`), so a type
; parameter's declaration is no reference to itself. `Name<...>` and `ns.Name` count anywhere; in an
; `implements` clause the pattern above, written first and matched first, makes them implementations.
(generic_type
  name: (type_identifier) @name) @reference.type

(nested_type_identifier
  name: (type_identifier) @name) @reference.type

[
  (type_annotation (type_identifier) @name)
  (type_arguments (type_identifier) @name)
  (union_type (type_identifier) @name)
  (intersection_type (type_identifier) @name)
  (array_type (type_identifier) @name)
  (tuple_type (type_identifier) @name)
  (parenthesized_type (type_identifier) @name)
  (readonly_type (type_identifier) @name)
  (optional_type (type_identifier) @name)
  (rest_type (type_identifier) @name)
  (lookup_type (type_identifier) @name)
  (index_type_query (type_identifier) @name)
  (constraint (type_identifier) @name)
  (default_type (type_identifier) @name)
  (conditional_type (type_identifier) @name)
  (template_type (type_identifier) @name)
  (extends_type_clause (type_identifier) @name)
  (as_expression (type_identifier) @name)
  (satisfies_expression (type_identifier) @name)
  (omitting_type_annotation (type_identifier) @name)
  (opting_type_annotation (type_identifier) @name)
  (adding_type_annotation (type_identifier) @name)
  (flow_maybe_type (type_identifier) @name)
  (type_alias_declaration value: (type_identifier) @name)
  (function_type return_type: (type_identifier) @name)
  (constructor_type type: (type_identifier) @name)
  (type_predicate type: (type_identifier) @name)
  (index_signature index_type: (type_identifier) @name)
  (mapped_type_clause type: (type_identifier) @name)
  (mapped_type_clause alias: (type_identifier) @name)
] @reference.type

; --- imports -----------------------------------------------------------------------------------

; import fs = require("fs")
(import_statement
  (import_require_clause
    source: (string) @import.path)) @import
