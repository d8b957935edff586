; Java definitions and references. Derived from tree-sitter-java's queries/tags.scm (MIT), extended
; with enums, records, annotation types, constructors, constants, enum constants, method references,
; annotations, type uses and imported names.
; Patterns that come first win when two match the same name.

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

; record Point(int x, int y) { Point { ... } }
(compact_constructor_declaration
  name: (identifier) @name) @definition.method

; String value() default ""; in an @interface
(annotation_type_element_declaration
  name: (identifier) @name) @definition.method

(enum_constant
  name: (identifier) @name) @definition.constant

; Constants: `static final` fields and interface fields. A declaration of several names
; (`static final int A = 1, B = 2;`) gives each name its own definition node, its declarator:
; definitions sharing one span would nest in each other.
((field_declaration
  (modifiers) @_modifiers
  declarator: (variable_declarator name: (identifier) @name) @definition.constant
  declarator: (variable_declarator))
  (#match? @_modifiers "(^|\\s)static(\\s|$)")
  (#match? @_modifiers "(^|\\s)final(\\s|$)"))

((field_declaration
  (modifiers) @_modifiers
  declarator: (variable_declarator)
  declarator: (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @_modifiers "(^|\\s)static(\\s|$)")
  (#match? @_modifiers "(^|\\s)final(\\s|$)"))

((field_declaration
  (modifiers) @_modifiers
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant
  (#match? @_modifiers "(^|\\s)static(\\s|$)")
  (#match? @_modifiers "(^|\\s)final(\\s|$)"))

(constant_declaration
  declarator: (variable_declarator name: (identifier) @name) @definition.constant
  declarator: (variable_declarator))

(constant_declaration
  declarator: (variable_declarator)
  declarator: (variable_declarator name: (identifier) @name) @definition.constant)

(constant_declaration
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant

; extends Base, implements Store, Comparable<T>, interface A extends B
(superclass
  [
    (type_identifier) @name
    (generic_type (type_identifier) @name)
    (scoped_type_identifier (type_identifier) @name .)
    (generic_type (scoped_type_identifier (type_identifier) @name .))
  ]) @reference.implementation

[
  (super_interfaces
    (type_list
      [
        (type_identifier) @name
        (generic_type (type_identifier) @name)
        (scoped_type_identifier (type_identifier) @name .)
        (generic_type (scoped_type_identifier (type_identifier) @name .))
      ]))
  (extends_interfaces
    (type_list
      [
        (type_identifier) @name
        (generic_type (type_identifier) @name)
        (scoped_type_identifier (type_identifier) @name .)
        (generic_type (scoped_type_identifier (type_identifier) @name .))
      ]))
] @reference.implementation

(method_invocation
  name: (identifier) @name) @reference.call

; Foo::bar, this::bar (not Foo::new)
(method_reference
  (_) (identifier) @name .) @reference.call

; new Foo(...), new Foo<>(...), new a.b.Foo(...)
(object_creation_expression
  type: [
    (type_identifier) @name
    (generic_type (type_identifier) @name)
    (scoped_type_identifier (type_identifier) @name .)
    (generic_type (scoped_type_identifier (type_identifier) @name .))
  ]) @reference.call

; @Override, @Inject(...), @javax.inject.Named(...)
[
  (marker_annotation
    name: [
      (identifier) @name
      (scoped_identifier name: (identifier) @name)
    ])
  (annotation
    name: [
      (identifier) @name
      (scoped_identifier name: (identifier) @name)
    ])
] @reference.type

; Every other type use (`var` is inferred, not a type).
((type_identifier) @name @reference.type
  (#not-eq? @name "var"))

; The class a single-type import names (not `.*` imports).
(import_declaration
  (scoped_identifier name: (identifier) @name) @reference.name .)
