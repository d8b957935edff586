; C++-only definitions and references, added to the C queries (c/tags.scm comes first and handles
; functions, prototypes, structs, unions, enums, typedefs, macros, calls and type uses). Derived from
; tree-sitter-cpp's queries/tags.scm (MIT), extended with in-class and out-of-class methods,
; constructors, destructors, operators, namespaces, aliases, concepts, gtest/Boost test macros,
; qualified and template calls and `using` declarations.
; Patterns that come first win when two match the same name, for references too: c/tags.scm's
; `(type_identifier) @reference.type` comes before this file, so base classes (`: public Base`) and
; `new Foo(..)` are type references, and a pattern here giving them another kind would never win.

; Methods defined in a class body: void start() {}, Registry(size_t n) : n_(n) {}, ~Plugin() = default;,
; bool operator==(const Registry&) const {}, const std::string& name() const {}, Plugin* find() {}
(field_declaration_list
  (function_definition
    declarator: [
      (function_declarator
        declarator: [(field_identifier) (identifier) (destructor_name) (operator_name)] @name)
      (pointer_declarator
        declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name))
      (reference_declarator
        (function_declarator declarator: [(field_identifier) (operator_name)] @name))
    ]) @definition.method)

; Methods declared in a class body: void add(Plugin p); virtual const string& name() const = 0;
(field_declaration_list
  (field_declaration
    declarator: [
      (function_declarator
        declarator: [(field_identifier) (operator_name)] @name)
      (pointer_declarator
        declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name))
      (reference_declarator
        (function_declarator declarator: [(field_identifier) (operator_name)] @name))
    ]) @definition.method)

; Constructors and destructors declared in a class body: Registry(size_t n); ~Registry();
(field_declaration_list
  (declaration
    declarator: (function_declarator
      declarator: [(identifier) (destructor_name)] @name)) @definition.method)

; Member templates declared in a class body: template <typename U> U get();
(field_declaration_list
  (template_declaration
    (declaration
      declarator: [
        (function_declarator declarator: [(identifier) (field_identifier)] @name)
        (pointer_declarator declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name))
        (reference_declarator (function_declarator declarator: [(identifier) (field_identifier)] @name))
      ]) @definition.method))

; Methods defined out of class: void Registry::add(..) {}, Plugin* Registry::find(..) {},
; const string& Foo::name() const {}, ns::Foo::bar() {}, Foo::~Foo() {}, bool Foo::operator==(..) {}, Box<T>::put(..)
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        name: [(identifier) (destructor_name) (operator_name)] @name))
    (function_declarator
      declarator: (qualified_identifier
        name: (qualified_identifier name: [(identifier) (destructor_name) (operator_name)] @name)))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          name: [(identifier) (operator_name)] @name)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          name: [(identifier) (operator_name)] @name)))
  ]) @definition.method

; Free functions returning a reference: const Config& config() {}
(function_definition
  type: (_)
  declarator: (reference_declarator
    (function_declarator declarator: (identifier) @name))) @definition.function

; Test macros, as definitions named after the test and as tests (one pattern for both: every
; pattern costs tree-sitter-cpp milliseconds to compile).
; gtest: TEST(Suite, Name) {}, TEST_F(Fixture, Name) {}, TEST_P, TYPED_TEST, TYPED_TEST_P
((function_definition
  !type
  declarator: (function_declarator
    declarator: (identifier) @_macro
    parameters: (parameter_list
      .
      (parameter_declaration)
      .
      (parameter_declaration type: (type_identifier) @name @test.name)
      .))) @definition.function @test
  (#any-of? @_macro "TEST" "TEST_F" "TEST_P" "TYPED_TEST" "TYPED_TEST_P"))

; Boost.Test: BOOST_AUTO_TEST_CASE(name) {}, BOOST_FIXTURE_TEST_CASE(name, Fixture) {}
((function_definition
  !type
  declarator: (function_declarator
    declarator: (identifier) @_macro
    parameters: (parameter_list . (parameter_declaration type: (type_identifier) @name @test.name)))) @definition.function @test
  (#any-of? @_macro "BOOST_AUTO_TEST_CASE" "BOOST_FIXTURE_TEST_CASE" "BOOST_DATA_TEST_CASE"))

; Prototypes in templates and reference-returning prototypes at file scope (see c/tags.scm):
; template <typename T> T clamp(T, T, T); const Config& config();
(template_declaration
  (declaration
    type: (_)
    declarator: [
      (function_declarator declarator: (identifier) @name)
      (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
      (reference_declarator (function_declarator declarator: (identifier) @name))
    ]) @definition.function)

[
  (translation_unit
    (declaration
      type: (_)
      declarator: (reference_declarator (function_declarator declarator: (identifier) @name))) @definition.function)
  (declaration_list
    (declaration
      type: (_)
      declarator: (reference_declarator (function_declarator declarator: (identifier) @name))) @definition.function)
]

(class_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

; template <> class Box<int> { }
[
  (class_specifier
    name: (template_type name: (type_identifier) @name)
    body: (_))
  (struct_specifier
    name: (template_type name: (type_identifier) @name)
    body: (_))
] @definition.class

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.namespace

; using PluginPtr = std::unique_ptr<Plugin>;
(alias_declaration
  name: (type_identifier) @name) @definition.type

(concept_definition
  name: (identifier) @name) @definition.interface

; std::move(x), a::b::f(), make<T>(), std::make_unique<T>(), obj.template get<T>()
(call_expression
  function: [
    (qualified_identifier name: (identifier) @name)
    (qualified_identifier name: (qualified_identifier name: (identifier) @name))
    (template_function name: (identifier) @name)
    (qualified_identifier name: (template_function name: (identifier) @name))
    (field_expression field: (dependent_name (template_method name: (field_identifier) @name)))
    (field_expression field: (template_method name: (field_identifier) @name))
  ]) @reference.call

; using std::string;
(using_declaration
  (qualified_identifier name: (identifier) @name)) @reference.name
