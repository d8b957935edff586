; C definitions and references, shared with C++ (cpp/*.scm adds the C++-only ones; so only node types
; that tree-sitter-c and tree-sitter-cpp both have may appear here). Derived from tree-sitter-c's
; queries/tags.scm (MIT), extended with pointer-returning functions, prototypes, unions, enumerators,
; typedefs of every shape, macros, file-scope constants and references (upstream has none).
; Patterns that come first win when two match the same name.
;
; A function definition must have a `type`: constructors and gtest TEST(..) macros have none (cpp/*.scm
; handles them). Prototypes and constants are matched only at file scope: at the top level, in
; `extern "C" { }` / namespace bodies and in #if/#ifdef/#else blocks (C++ template and class bodies are
; left to cpp/tags.scm), because `std::lock_guard<std::mutex> lock(mu);` in a C++ function body parses
; as a prototype and local constants are not definitions worth listing.

; int f(void) { }, char *f(void) { }, char **f(void) { } (also templates; C++ methods are in cpp/tags.scm)
(function_definition
  type: (_)
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
  ]) @definition.function

; Prototypes: int f(void);
[
  (translation_unit
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (declaration_list
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (linkage_specification
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (preproc_if
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (preproc_ifdef
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (preproc_else
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (preproc_elif
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
  (preproc_elifdef
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
        (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
      ]) @definition.function)
]

(struct_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(union_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

(enumerator
  name: (identifier) @name) @definition.constant

; typedef struct foo foo_t, *foo_p; gives each name its own definition node, its declarator:
; definitions sharing one span would nest in each other.
(type_definition
  declarator: [
    (type_identifier) @name @definition.type
    (pointer_declarator declarator: (type_identifier) @name) @definition.type
  ]
  declarator: (_))

(type_definition
  declarator: (_)
  declarator: [
    (type_identifier) @name @definition.type
    (pointer_declarator declarator: (type_identifier) @name) @definition.type
  ])

; typedef struct { ... } point;
(type_definition
  type: [(struct_specifier body: (_)) (union_specifier body: (_))]
  declarator: (type_identifier) @name) @definition.class

(type_definition
  type: (enum_specifier body: (_))
  declarator: (type_identifier) @name) @definition.enum

; typedef int count_t; typedef struct node *node_ptr; typedef int (*compare_fn)(const void *, const void *);
; typedef char name_t[32];
(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (array_declarator declarator: (type_identifier) @name)
    (function_declarator
      declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
  ]) @definition.type

(preproc_function_def
  name: (identifier) @name) @definition.macro

(preproc_def
  name: (identifier) @name
  value: (_)) @definition.macro

; #define FEATURE_X, but not include guards (#define FOO_H)
((preproc_def
  name: (identifier) @name
  !value) @definition.macro
  (#not-match? @name "_(H|HH|HPP|HXX|H_INCLUDED|INCLUDED)_*$"))

; File-scope constants: const int max_retries = 3; static const char *const names[] = {..};
; A declaration of several names gives each its own definition node, its declarator.
([
  (translation_unit
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (declaration_list
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (linkage_specification
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (preproc_if
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (preproc_ifdef
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (preproc_else
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (preproc_elif
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
  (preproc_elifdef
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant
      declarator: (_)))
]
  (#any-of? @_const "const" "constexpr"))

([
  (translation_unit
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (declaration_list
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (linkage_specification
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (preproc_if
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (preproc_ifdef
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (preproc_else
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (preproc_elif
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
  (preproc_elifdef
    (declaration
      (type_qualifier) @_const
      declarator: (_)
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ]) @definition.constant))
]
  (#any-of? @_const "const" "constexpr"))

([
  (translation_unit
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (declaration_list
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (linkage_specification
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (preproc_if
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (preproc_ifdef
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (preproc_else
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (preproc_elif
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
  (preproc_elifdef
    (declaration
      (type_qualifier) @_const
      declarator: (init_declarator declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (identifier) @name)
          (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
        ])) @definition.constant)
]
  (#any-of? @_const "const" "constexpr"))

; f(), obj->fn(), obj.fn() (function-like macros parse as calls too)
(call_expression
  function: [
    (identifier) @name
    (field_expression field: (field_identifier) @name)
  ]) @reference.call

((type_identifier) @name @reference.type)

; #ifdef FEATURE, #ifndef FEATURE, #if defined(FEATURE): uses of a macro name
(preproc_ifdef
  name: (identifier) @name) @reference.name

(preproc_defined
  (identifier) @name) @reference.name
