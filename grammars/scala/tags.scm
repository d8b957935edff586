; Scala definitions and references, from tree-sitter-scala 0.26.9's queries/tags.scm (MIT). Methods
; (functions in a class, object or trait body) are told apart from functions; vals and vars count
; only at the top level or in a template body (a local `val` is not a definition of the file);
; class parameters are left out (reverie has no field kind); `object` is a class.

(package_clause
  name: (package_identifier) @name) @definition.module

(trait_definition
  name: (identifier) @name) @definition.interface

(enum_definition
  name: (identifier) @name) @definition.enum

(simple_enum_case
  name: (identifier) @name) @definition.class

(full_enum_case
  name: (identifier) @name) @definition.class

(class_definition
  name: (identifier) @name) @definition.class

(object_definition
  name: (identifier) @name) @definition.class

(template_body (function_definition name: (identifier) @name) @definition.method)
(template_body (function_declaration name: (identifier) @name) @definition.method)

(function_definition
  name: (identifier) @name) @definition.function

(template_body (val_definition pattern: (identifier) @name) @definition.constant)
(compilation_unit (val_definition pattern: (identifier) @name) @definition.constant)
(template_body (given_definition name: (identifier) @name) @definition.constant)
(template_body (val_declaration name: (identifier) @name) @definition.constant)

(type_definition
  name: (type_identifier) @name) @definition.type

; References

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (field_expression field: (identifier) @name)) @reference.call

(generic_function
  function: (field_expression field: (identifier) @name)) @reference.call

(instance_expression
  (type_identifier) @name) @reference.class

(instance_expression
  (generic_type
    (type_identifier) @name)) @reference.class

(extends_clause
  (type_identifier) @name) @reference.implementation

(extends_clause
  (generic_type
    (type_identifier) @name)) @reference.implementation

(type_identifier) @name @reference.type
