; Python definitions and references. Derived from tree-sitter-python's queries/tags.scm (MIT),
; extended with methods, base classes, type annotations and imported names.
; Patterns that come first win when two match the same name (methods before functions).

(class_definition
  body: (block
    (function_definition name: (identifier) @name) @definition.method))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition name: (identifier) @name) @definition.method)))

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.constant))

(call
  function: [
    (identifier) @name
    (attribute attribute: (identifier) @name)
  ]) @reference.call

(class_definition
  superclasses: (argument_list
    [
      (identifier) @name
      (attribute attribute: (identifier) @name)
    ] @reference.type))

(type [
  (identifier) @name
  (attribute attribute: (identifier) @name)
] @reference.type)

(decorator [
  (identifier) @name
  (attribute attribute: (identifier) @name)
] @reference.call)

(import_from_statement
  name: [
    (dotted_name (identifier) @name .)
    (aliased_import name: (dotted_name (identifier) @name .))
  ] @reference.name)

(except_clause
  [
    (identifier) @name
    (attribute attribute: (identifier) @name)
  ] @reference.type)
