; Haskell definitions and references. tree-sitter-haskell 0.24.1 ships no tags.scm; these follow the
; other languages' shape. A top-level function's type signature is its `@signature` (its doc, its
; interface, the start of its span), the equations that follow are the definition.

((signature name: (variable) @_signature) @signature
  .
  (function name: (variable) @name) @definition.function
  (#eq? @_signature @name))
((signature name: (variable) @_signature) @signature
  .
  (bind name: (variable) @name) @definition.function
  (#eq? @_signature @name))

(declarations (function name: (variable) @name) @definition.function)
(declarations (bind name: (variable) @name) @definition.function)

(class_declarations (signature name: (variable) @name) @definition.method)
(instance_declarations (function name: (variable) @name) @definition.method)

(data_type name: (name) @name) @definition.class
(newtype name: (name) @name) @definition.type
(type_synonym name: (name) @name) @definition.type
(type_family name: (name) @name) @definition.type
(class name: (name) @name) @definition.interface

(header module: (module) @name) @definition.module

(instance name: (name) @name) @reference.implementation

(apply function: (variable) @name) @reference.call
(apply function: (qualified id: (variable) @name)) @reference.call
(infix operator: (infix_id (variable) @name)) @reference.call
(apply function: (constructor) @name) @reference.call
(name) @name @reference.type
