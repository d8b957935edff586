; Lua definitions and references, from tree-sitter-lua 0.5.0's queries/tags.scm (MIT), with
; module-level constants (`M.MAX_AGE = 3600`) added. `require` calls are imports, not references.

(function_declaration
  name: (method_index_expression
    method: (identifier) @name)) @definition.method

(function_declaration
  name: [
    (identifier) @name
    (dot_index_expression
      field: (identifier) @name)
  ]) @definition.function

(assignment_statement
  (variable_list
    .
    name: [
      (identifier) @name
      (dot_index_expression
        field: (identifier) @name)
    ])
  (expression_list
    .
    value: (function_definition))) @definition.function

(table_constructor
  (field
    name: (identifier) @name
    value: (function_definition))) @definition.function

; local Store = {} at the top level: a module or class table.
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list . name: (identifier) @name)
      (expression_list . value: (table_constructor)))) @definition.class)

; Upper-case names assigned at the top level: constants by convention.
((chunk
  (assignment_statement
    (variable_list
      .
      name: [
        (identifier) @name
        (dot_index_expression field: (identifier) @name)
      ])
    (expression_list . value: [(number) (string) (true) (false)])) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

((function_call
  name: [
    (identifier) @name
    (dot_index_expression
      field: (identifier) @name)
    (method_index_expression
      method: (identifier) @name)
  ]) @reference.call
  (#not-any-of? @name "require" "error" "assert"))
