; Scala imports, error-message sites, tests and comments (capture names: grammars/README.md).

; import scala.util.Try, import app.crypto.{Signer, Keys}: the import statement's text, less `import`
(import_declaration) @import

; throw new IllegalStateException("message")
(throw_expression
  (instance_expression
    arguments: (arguments . (string) @error.message))) @error.raise
(throw_expression
  (instance_expression
    arguments: (arguments . (interpolated_string_expression) @error.message))) @error.raise

; require(cond, "message"), assert(cond, "message"), sys.error("message")
((call_expression
  function: (identifier) @_require
  arguments: (arguments (_) . [(string) (interpolated_string_expression)] @error.message)) @error.raise
  (#any-of? @_require "require" "assert" "assume"))
((call_expression
  function: (field_expression field: (identifier) @_error)
  arguments: (arguments . [(string) (interpolated_string_expression)] @error.message)) @error.raise
  (#eq? @_error "error"))

; logger.error("...")
((call_expression
  function: (field_expression field: (identifier) @_level)
  arguments: (arguments . [(string) (interpolated_string_expression)] @error.message)) @error.log
  (#any-of? @_level "error" "fatal"))

; ScalaTest: test("name") { … }, it("name") { … }, "subject" should "behave" in { … }
((call_expression
  function: (call_expression
    function: (identifier) @_test
    arguments: (arguments . (string) @test.name))) @test
  (#any-of? @_test "test" "it" "ignore" "property"))
((infix_expression
  left: (infix_expression right: (string) @test.name)
  operator: (identifier) @_in) @test
  (#eq? @_in "in"))

[(comment) (block_comment)] @comment
