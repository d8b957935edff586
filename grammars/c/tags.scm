; C definitions and references, shared with C++ (cpp/*.scm adds the C++-only ones, so only node types
; that both tree-sitter-c and tree-sitter-cpp have may appear here). Derived from tree-sitter-c's
; queries/tags.scm (MIT), extended with pointer-returning functions, prototypes, unions, enumerators,
; typedefs of every shape, macros, file-scope constants and references (upstream has none).
; Patterns that come first win when two match the same name.
;
; A function definition must have a `type`: constructors and gtest TEST(..) macros have none (cpp/*.scm
; handles them). Prototypes and constants are matched only where file-scope declarations live (top
; level, #ifndef guards and #if blocks, `extern "C" {}` and namespace bodies), because
; `std::lock_guard<std::mutex> lock(mu);` in a C++ function body parses as a prototype, and local
; constants are not worth listing. Every declarator shape spelled out below makes the query slower to
; compile (noticeably so for C++), so only the common shapes are.

; int f(void) { }, char *f(void) { }, char **f(void) { } (also templates; C++ methods: cpp/tags.scm)
(function_definition
  type: (_)
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
    (pointer_declarator
      declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
  ]) @definition.function

; Prototypes: int f(void); char *f(void);
[
  (translation_unit
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
      ]) @definition.function)
  (preproc_ifdef
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
      ]) @definition.function)
  (preproc_if
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
      ]) @definition.function)
  (declaration_list
    (declaration
      type: (_)
      declarator: [
        (function_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
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

; typedef int count_t; typedef struct node *node_ptr; typedef char name_t[32];
; typedef int (*compare_fn)(const void *, const void *);
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

; File-scope constants with one name: static const int max_retries = 3; constexpr int kMax = 10;
; static const int sizes[] = {..}; (pointers such as `const char *const name` are left out)
([
  (translation_unit
    (declaration
      (type_qualifier) @_const
      type: (_)
      .
      declarator: (init_declarator
        declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
        ])
      .) @definition.constant)
  (preproc_ifdef
    (declaration
      (type_qualifier) @_const
      type: (_)
      .
      declarator: (init_declarator
        declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
        ])
      .) @definition.constant)
  (declaration_list
    (declaration
      (type_qualifier) @_const
      type: (_)
      .
      declarator: (init_declarator
        declarator: [
          (identifier) @name
          (array_declarator declarator: (identifier) @name)
        ])
      .) @definition.constant)
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
