; C definitions (shared with C++). Derived from tree-sitter-c's queries/tags.scm (MIT).

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function

(struct_specifier name: (type_identifier) @name body: (_)) @definition.class

(declaration type: (union_specifier name: (type_identifier) @name)) @definition.class

(type_definition declarator: (type_identifier) @name) @definition.type

(enum_specifier name: (type_identifier) @name) @definition.type
