; Kotlin imports, error-message sites, tests and comments (capture names: grammars/README.md).

; import a.b.C, import a.b.C as D
(import (qualified_identifier) @import.path) @import

; throw IllegalStateException("message")
(throw_expression
  (call_expression
    (value_arguments . (value_argument (string_literal) @error.message)))) @error.raise

; require(x) { "message" }, check(x) { "message" }, requireNotNull(x) { "message" }
((call_expression
  (call_expression (identifier) @_require)
  (annotated_lambda (lambda_literal . (string_literal) @error.message))) @error.raise
  (#any-of? @_require "require" "check" "requireNotNull" "checkNotNull"))

; error("message"), TODO("message")
((call_expression
  (identifier) @_error
  (value_arguments . (value_argument (string_literal) @error.message))) @error.raise
  (#any-of? @_error "error" "TODO"))

; logger.error("..."), log.error { "..." }
((call_expression
  (navigation_expression (identifier) @_level .)
  (value_arguments . (value_argument (string_literal) @error.message))) @error.log
  (#eq? @_level "error"))

; JUnit / kotlin.test: @Test fun name()
((function_declaration
  (modifiers (annotation (user_type (identifier) @_test)))
  name: (identifier) @test.name) @test
  (#any-of? @_test "Test" "ParameterizedTest" "RepeatedTest" "TestFactory"))

[(line_comment) (block_comment)] @comment
