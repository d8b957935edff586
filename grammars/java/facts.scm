; Java imports, error-message sites, tests and comments (capture names: grammars/README.md).

; import java.util.List; import static org.junit.Assert.assertEquals; import java.util.*; (→ java.util)
(import_declaration
  [(scoped_identifier) (identifier)] @import.path) @import

; throw new FooException("..."), throw new FooException("..." + x), throw new FooException(String.format("...")),
; throw new FooException("...".formatted(x))
(throw_statement
  (object_creation_expression
    arguments: (argument_list
      .
      [
        (string_literal) @error.message
        (binary_expression left: (string_literal) @error.message)
        (binary_expression left: (binary_expression left: (string_literal) @error.message))
        (method_invocation
          name: (identifier) @_format
          arguments: (argument_list . (string_literal) @error.message))
        (method_invocation
          object: (string_literal) @error.message
          name: (identifier) @_format)
      ]))) @error.raise

; log.error("..."), logger.error("..." + x), LOG.fatal(...), logger.severe(...) (java.util.logging)
((method_invocation
  name: (identifier) @_level
  arguments: (argument_list
    .
    [
      (string_literal) @error.message
      (binary_expression left: (string_literal) @error.message)
      (binary_expression left: (binary_expression left: (string_literal) @error.message))
      (method_invocation
        name: (identifier) @_format
        arguments: (argument_list . (string_literal) @error.message))
    ])) @error.log
  (#any-of? @_level "error" "fatal" "severe"))

; System.err.println("...")
((method_invocation
  object: (field_access object: (identifier) @_system field: (identifier) @_err)
  name: (identifier) @_print
  arguments: (argument_list
    .
    [
      (string_literal) @error.message
      (binary_expression left: (string_literal) @error.message)
    ])) @error.log
  (#eq? @_system "System")
  (#eq? @_err "err")
  (#any-of? @_print "println" "print" "printf" "format"))

; Preconditions.checkArgument(ok, "..."), checkState(..), checkNotNull(x, "..."),
; Objects.requireNonNull(x, "...")
((method_invocation
  name: (identifier) @_check
  arguments: (argument_list . (_) . (string_literal) @error.message)) @error.raise
  (#any-of? @_check "checkArgument" "checkState" "checkNotNull" "checkElementIndex" "requireNonNull"))

; @Test void name(), @ParameterizedTest, @RepeatedTest, @TestFactory, @TestTemplate, @org.junit.Test
((method_declaration
  (modifiers
    [
      (marker_annotation name: [(identifier) (scoped_identifier name: (identifier))] @_annotation)
      (annotation name: [(identifier) (scoped_identifier name: (identifier))] @_annotation)
    ])
  name: (identifier) @test.name) @test
  (#match? @_annotation "(^|\\.)(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)$"))

[(line_comment) (block_comment)] @comment
