; PHP definitions and references, from tree-sitter-php 0.25.1's queries/tags.scm (MIT). Methods are
; `definition.method` (the upstream file calls them functions), enums and constants are added, and
; properties are left out (reverie has no field kind).

(namespace_definition
  name: (namespace_name) @name) @definition.module

(interface_declaration
  name: (name) @name) @definition.interface

(trait_declaration
  name: (name) @name) @definition.interface

(class_declaration
  name: (name) @name) @definition.class

(enum_declaration
  name: (name) @name) @definition.enum

(method_declaration
  name: (name) @name) @definition.method

(function_definition
  name: (name) @name) @definition.function

(const_declaration
  (const_element (name) @name)) @definition.constant

(class_interface_clause [(name) @name (qualified_name (name) @name)]) @reference.implementation

(base_clause [(name) @name (qualified_name (name) @name)]) @reference.type

(named_type [(name) @name (qualified_name (name) @name)]) @reference.type

(object_creation_expression
  [
    (name) @name
    (qualified_name (name) @name)
  ]) @reference.class

(function_call_expression
  function: [
    (name) @name
    (qualified_name (name) @name)
  ]) @reference.call

(scoped_call_expression
  name: (name) @name) @reference.call

(member_call_expression
  name: (name) @name) @reference.call

(nullsafe_member_call_expression
  name: (name) @name) @reference.call
