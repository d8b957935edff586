; C# definitions and references, from tree-sitter-c-sharp 0.23.5's queries/tags.scm (MIT), with
; structs, records, enums, constructors, properties' owners, delegates and constants added and the
; namespace name widened to qualified names (`namespace App.Auth`).

(class_declaration name: (identifier) @name) @definition.class
(struct_declaration name: (identifier) @name) @definition.struct
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(delegate_declaration name: (identifier) @name) @definition.type

(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(local_function_statement name: (identifier) @name) @definition.function

(namespace_declaration name: [(identifier) (qualified_name)] @name) @definition.module
(file_scoped_namespace_declaration name: [(identifier) (qualified_name)] @name) @definition.module

((field_declaration
  (modifier) @_const
  (variable_declaration (variable_declarator name: (identifier) @name))) @definition.constant
  (#eq? @_const "const"))

(base_list (identifier) @name) @reference.implementation
(base_list (generic_name (identifier) @name)) @reference.implementation

(object_creation_expression type: (identifier) @name) @reference.class
(object_creation_expression type: (generic_name (identifier) @name)) @reference.class

(type_parameter_constraint (type type: (identifier) @name)) @reference.class

(variable_declaration type: (identifier) @name) @reference.class
(parameter type: (identifier) @name) @reference.type
(method_declaration returns: (identifier) @name) @reference.type
(type_argument_list (identifier) @name) @reference.type

(invocation_expression function: (member_access_expression name: (identifier) @name)) @reference.send
(invocation_expression function: (member_access_expression name: (generic_name (identifier) @name))) @reference.send
((invocation_expression function: (identifier) @name) @reference.call
  (#not-eq? @name "nameof"))
