; OCaml interfaces (.mli, tree-sitter-ocaml 0.26.0's interface grammar): what a module exposes. From
; the same upstream tags.scm as tags.scm here; `val` specifications are the functions and values,
; with the whole `val name : type` line as the signature.

(module_definition
  (module_binding (module_name) @name)) @definition.module

(module_type_definition (module_type_name) @name) @definition.interface

(class_definition
  (class_binding (class_name) @name) @definition.class)
(class_type_definition
  (class_type_binding (class_type_name) @name) @definition.class)

(type_definition
  (type_binding
    name: [
      (type_constructor) @name
      (type_constructor_path (type_constructor) @name)
    ])) @definition.type

(exception_definition
  (constructor_declaration (constructor_name) @name)) @definition.type

(value_specification (value_name) @name) @definition.function
(external (value_name) @name) @definition.function

(module_path (module_name) @name) @reference.name
(extended_module_path (module_name) @name) @reference.name
(module_type_path (module_type_name) @name) @reference.implementation
(type_constructor_path (type_constructor) @name) @reference.type

[
  (open_module module: (_) @import.path)
  (open_module_signature module: (_) @import.path)
  (include_module module: (_) @import.path)
] @import

(comment) @comment
